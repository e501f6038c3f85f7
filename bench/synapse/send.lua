-- Synapse's S2: users send text messages into their private rooms (PUT .../send/m.room.message/{txnId}),
-- spread over every user and room as CaseTalk's send.lua spreads sends over members and cases.
package.path = package.path .. ";" .. os.getenv("BENCH_LUA") .. "/?.lua"
local common = require("common")
local users = common.sessions().users

common.run(function(n, tid)
  local user = users[(n + tid) % #users + 1]
  local room = user.rooms[math.floor(n / #users) % #user.rooms + 1]
  local body = '{"msgtype":"m.text","body":"Bench message ' .. n .. '"}'
  return wrk.format("PUT", "/_matrix/client/v3/rooms/" .. room .. "/send/m.room.message/" .. common.key(tid, n),
    { ["Authorization"] = "Bearer " .. user.token, ["Content-Type"] = "application/json" }, body)
end)
