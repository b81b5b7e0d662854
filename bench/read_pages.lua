-- wrk script: the public reading pages, in the order of a file of paths (one per line,
-- drawn beforehand with the mix's weights), going round it until the duration ends.
-- Usage: [WRK_READ_RATE=R WRK_THREADS=T] wrk -tT -cC -dDs --latency -s read_pages.lua URL -- FILE
-- With WRK_READ_RATE the reads are held at R per second over the T threads: each thread
-- hands out send times T/R apart and delays each request to its slot (a token bucket on
-- the wall clock, read through LuaJIT's ffi: wrk's Lua has no clock of its own).
-- Without it, flat out (no delay() at all: wrk then sends each request at once).
local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } timespec;
int clock_gettime(int clk_id, timespec *tp);
]])
local ts = ffi.new("timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end

local rate = tonumber(os.getenv("WRK_READ_RATE") or "0")
local count = tonumber(os.getenv("WRK_THREADS") or "1")
local paths = {}
local index = 1
local slot = nil

function init(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
  -- each thread starts at its own place in the sequence
  index = ((id or 1) - 1) * math.floor(#paths / count) + 1
end

if rate > 0 then
  local interval = 1000 * count / rate
  function delay()
    local t = now_ms()
    if slot == nil or slot < t - 1000 then
      slot = t -- behind by more than a second (the server stalled): do not burst to catch up
    end
    local wait = slot - t
    slot = slot + interval
    if wait < 0 then
      return 0
    end
    return math.floor(wait)
  end
end

function request()
  local path = paths[index]
  index = index % #paths + 1
  return wrk.format("GET", path)
end
