-- GCRA (the generic cell rate algorithm, ITU-T I.371), the head of check.lua and grant.lua.
-- gcra(key, interval, burst, cost, now): the rate state under `key` (its theoretical arrival
-- time, microseconds), one request "emitted" every `interval` microseconds with a burst of
-- `burst`; counts one request when `cost` > 0 and it is admitted, only looks at 0. Returns
-- admitted (1 or 0), requests remaining, microseconds until one is allowed (refused) and
-- microseconds until the budget is full again.
local function gcra(key, interval, burst, cost, now)
  local tau = interval * burst
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  local new_tat = tat + interval
  local allow_at = new_tat - tau
  if allow_at > now then
    return 0, 0, allow_at - now, tat - now
  end
  if cost > 0 then
    redis.call('SET', key, string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
  else
    new_tat = tat
  end
  return 1, math.floor((now + tau - new_tat) / interval), 0, new_tat - now
end

-- The server's clock (microseconds), so every broker agrees.
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
