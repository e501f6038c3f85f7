-- S2: members send Patient Talk messages, spread over every member and their cases.
package.path = package.path .. ";" .. os.getenv("BENCH_LUA") .. "/?.lua"
local common = require("common")
local sessions = dofile(os.getenv("BENCH_SESSIONS"))
setup = common.setup
done = common.done

function init(args)
  counts = {}
  n = 0
  math.randomseed(os.time() * 100 + tid)
end

function request()
  n = n + 1
  local member = sessions.members[(n + tid) % #sessions.members + 1]
  local case = member.cases[math.floor(n / #sessions.members) % #member.cases + 1]
  local body = "_csrf=" .. member.csrf .. "&body=Bench+message+" .. n .. "&idempotency_key=" .. common.key(tid, n)
  return wrk.format("POST", "/cases/" .. case .. "/talk",
    { ["Cookie"] = member.cookie, ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
end

response = function(status) common.count(status) end
