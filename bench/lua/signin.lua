-- S1: sign-in attempts, each a full scrypt verification. wrk cannot follow the session a
-- successful sign-in replaces, so the attempts name addresses with no account: CaseTalk hashes
-- those against a stand-in hash, the same work as a real sign-in (BruteForceTests times both).
package.path = package.path .. ";" .. os.getenv("BENCH_LUA") .. "/?.lua"
local common = require("common")
local anon = common.sessions().anonymous

common.run(function(n, tid)
  local body = "_csrf=" .. anon.csrf .. "&email=nobody" .. tid .. "x" .. n .. "%40bench.example&password=not-the-password-" .. n
  return wrk.format("POST", "/login", { ["Cookie"] = anon.cookie, ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
end)
