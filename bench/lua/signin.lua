-- S1: sign-in attempts, each a full scrypt verification. wrk cannot follow the session a
-- successful sign-in replaces, so the attempts name addresses with no account: CaseTalk hashes
-- those against a stand-in hash, the same work as a real sign-in (BruteForceTests times both).
package.path = package.path .. ";" .. os.getenv("BENCH_LUA") .. "/?.lua"
local common = require("common")
local sessions = dofile(os.getenv("BENCH_SESSIONS"))
setup = common.setup
done = common.done
local anon = sessions.anonymous

function init(args)
  counts = {}
  n = 0
end

function request()
  n = n + 1
  local body = "_csrf=" .. anon.csrf .. "&email=nobody" .. tid .. "x" .. n .. "%40bench.example&password=not-the-password-" .. n
  return wrk.format("POST", "/login", { ["Cookie"] = anon.cookie, ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
end

response = function(status) common.count(status) end
