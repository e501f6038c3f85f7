-- S3/S4 and the inbox during S1: one signed-in person's page (BENCH_WHO, BENCH_PATH).
package.path = package.path .. ";" .. os.getenv("BENCH_LUA") .. "/?.lua"
local common = require("common")
local who = common.sessions()[os.getenv("BENCH_WHO")]
local path = os.getenv("BENCH_PATH")

common.run(function(n, tid)
  return wrk.format("GET", path, { ["Cookie"] = who.cookie })
end)
