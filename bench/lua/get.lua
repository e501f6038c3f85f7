-- S3/S4 and the inbox during S1: one signed-in person's page (BENCH_WHO, BENCH_PATH).
package.path = package.path .. ";" .. os.getenv("BENCH_LUA") .. "/?.lua"
local common = require("common")
local sessions = dofile(os.getenv("BENCH_SESSIONS"))
setup = common.setup
done = common.done
local who = sessions[os.getenv("BENCH_WHO")]
local path = os.getenv("BENCH_PATH")

function init(args) counts = {} end

function request()
  return wrk.format("GET", path, { ["Cookie"] = who.cookie })
end

response = function(status) common.count(status) end
