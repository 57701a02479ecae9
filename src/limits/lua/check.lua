-- One authenticated request: the GCRA rate of its class (when ARGV[2] > 0) and the
-- revocation times of its principal and of everything, in one round trip.
-- KEYS[1] rate state (the theoretical arrival time, microseconds), KEYS[2] the principal's
-- "not before", KEYS[3] the global one. ARGV[1] emission interval (microseconds),
-- ARGV[2] burst (requests per window; 0: no rate), ARGV[3] cost (1 counts, 0 only looks).
-- Returns {admitted, remaining, retry_after_us, until_full_us, principal_nb, all_nb}
-- ("" for a missing time). The server's clock, so every broker agrees.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nb_principal = redis.call('GET', KEYS[2]) or ''
local nb_all = redis.call('GET', KEYS[3]) or ''
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
if burst == 0 then
  return {1, 0, 0, 0, nb_principal, nb_all}
end
local cost = tonumber(ARGV[3])
local tau = interval * burst
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - tau
if allow_at > now then
  return {0, 0, allow_at - now, tat - now, nb_principal, nb_all}
end
if cost > 0 then
  redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
else
  new_tat = tat
end
local remaining = math.floor((now + tau - new_tat) / interval)
return {1, remaining, 0, new_tat - now, nb_principal, nb_all}
