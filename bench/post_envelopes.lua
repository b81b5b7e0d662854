-- wrk script: POST each envelope of a file (one per line) exactly once, then stop.
-- Usage: wrk -t1 -c64 -d120s --latency -s post_envelopes.lua URL -- FILE [cycle|DONEFILE]
-- With "cycle" it goes round the file until the duration ends (for baselines);
-- otherwise, once every envelope is answered, it writes DONEFILE so the caller can
-- end wrk at once (wrk's main thread sleeps out -d whatever the threads do).
-- With WRK_THINK_MS=N in the environment each connection pauses a random 0-2N ms
-- before its next batch: stations that report on their own time, not in lockstep.
local think = tonumber(os.getenv("WRK_THINK_MS") or "0")
if think > 0 then
  function delay()
    return math.random(0, 2 * think)
  end
end

local bodies = {}
local cycle = false
local done_file = nil
local next_index = 1
local calls = 0
local done = 0

function init(args)
  local path = args[1]
  cycle = args[2] == "cycle"
  if not cycle then
    done_file = args[2]
  end
  for line in io.lines(path) do
    bodies[#bodies + 1] = line
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  calls = calls + 1
  if calls == 1 then
    -- wrk calls request() once before the run to inspect it: send nothing yet
    return wrk.format(nil, nil, nil, bodies[1])
  end
  local i = next_index
  if i > #bodies then
    if cycle then
      i = (i - 1) % #bodies + 1
    else
      i = #bodies  -- the last one again (answered from its stored receipt)
    end
  end
  next_index = next_index + 1
  return wrk.format(nil, nil, nil, bodies[i])
end

function response(status, headers, body)
  done = done + 1
  if status ~= 200 then
    io.stderr:write("status " .. status .. ": " .. body:sub(1, 200) .. "\n")
  end
  if not cycle and done == #bodies then
    if done_file then
      local f = io.open(done_file, "w")
      f:write(tostring(done))
      f:close()
    end
    wrk.thread:stop()
  end
end
