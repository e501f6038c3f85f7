-- Shared by the CaseTalk load scripts: the sessions file written by bench.py, a form-key maker,
-- and per-thread counts of answers by status, summed in done().
local common = {}
local threads = {}
local next_id = 0

function common.setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
local tails = {}
-- A 43-character base64url key, unique per thread and request (the shape of the form's own keys):
-- the thread and request numbers, then random characters drawn once per thread, so the load
-- generator spends its time on requests rather than on random numbers.
function common.key(tid, n)
  local head = string.format("k%02d%012d", tid, n)
  local tail = tails[tid]
  if not tail then
    local chars = {}
    for i = 1, 43 - #head do
      local r = math.random(1, 64)
      chars[i] = alphabet:sub(r, r)
    end
    tail = table.concat(chars)
    tails[tid] = tail
  end
  return head .. tail
end

function common.count(status)
  counts[status] = (counts[status] or 0) + 1
end

function common.done()
  local total = {}
  for _, thread in ipairs(threads) do
    local c = thread:get("counts")
    for status, n in pairs(c) do total[status] = (total[status] or 0) + n end
  end
  local parts = {}
  for status, n in pairs(total) do table.insert(parts, status .. "=" .. n) end
  table.sort(parts)
  io.write("statuses: " .. table.concat(parts, " ") .. "\n")
end

-- The sessions file bench.py wrote for this run.
function common.sessions()
  return dofile(os.getenv("BENCH_SESSIONS"))
end

-- Installs wrk's callbacks around make(n, tid), which builds a thread's n-th request; answers are
-- counted by status.
function common.run(make)
  setup = common.setup
  done = common.done
  init = function(args)
    counts = {}
    n = 0
    math.randomseed(os.time() * 100 + tid)
  end
  request = function()
    n = n + 1
    return make(n, tid)
  end
  response = function(status) common.count(status) end
end

return common
