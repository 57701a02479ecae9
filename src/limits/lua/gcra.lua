-- GCRA (the generic cell rate algorithm, ITU-T I.371), the head of check.lua and grant.lua.
-- gcra(key, window, burst, cost, now): the rate state under `key` (its theoretical arrival
-- time, microseconds), `burst` requests per `window` microseconds, one "emitted" every
-- window / burst microseconds (a fraction of one above a million requests per second: Lua
-- numbers are doubles, so the interval is never rounded down to 0, and the stored time keeps
-- its fraction); counts one request when `cost` > 0 and it is admitted, only looks at 0.
-- Returns
-- admitted (1 or 0), requests remaining, microseconds until one is allowed (refused) and
-- microseconds until the budget is full again.
local function gcra(key, window, burst, cost, now)
  local interval = window / burst
  -- The stored time is whole microseconds and their fraction ("1765100000123456.250000"):
  -- near the current time in microseconds doubles step by a quarter of one, which would
  -- swallow a smaller interval, so the two parts are read apart and only their distance to
  -- now (small) is a double. A time stored without a fraction reads as before.
  local backlog = 0
  local stored = redis.call('GET', key)
  if stored then
    local whole, fraction = string.match(stored, '^(%d+)(%.?%d*)$')
    if whole then
      backlog = math.max((tonumber(whole) - now) + (tonumber('0' .. fraction) or 0), 0)
    end
  end
  local after = backlog + interval
  if after > window then
    return 0, 0, after - window, backlog
  end
  if cost > 0 then
    local ahead = math.floor(after)
    redis.call('SET', key, string.format('%d.%06d', now + ahead, math.floor((after - ahead) * 1000000)),
      'PX', math.ceil(after / 1000) + 1)
  else
    after = backlog
  end
  return 1, math.max(burst - math.ceil(after / interval), 0), 0, after
end

-- The server's clock (microseconds), so every broker agrees.
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
