-- Synapse's read: the latest 50 messages of one room, newest first (GET .../messages?dir=b&limit=50).
package.path = package.path .. ";" .. os.getenv("BENCH_LUA") .. "/?.lua"
local common = require("common")
local reader = common.sessions().reader

common.run(function(n, tid)
  return wrk.format("GET", "/_matrix/client/v3/rooms/" .. reader.room .. "/messages?dir=b&limit=50",
    { ["Authorization"] = "Bearer " .. reader.token })
end)
