-- S2: members send Patient Talk messages, spread over every member and their cases.
package.path = package.path .. ";" .. os.getenv("BENCH_LUA") .. "/?.lua"
local common = require("common")
local members = common.sessions().members

common.run(function(n, tid)
  local member = members[(n + tid) % #members + 1]
  local case = member.cases[math.floor(n / #members) % #member.cases + 1]
  local body = "_csrf=" .. member.csrf .. "&body=Bench+message+" .. n .. "&idempotency_key=" .. common.key(tid, n)
  return wrk.format("POST", "/cases/" .. case .. "/talk",
    { ["Cookie"] = member.cookie, ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
end)
