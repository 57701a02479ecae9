-- One authenticated request: the GCRA rate of its class (when ARGV[2] > 0) and the
-- revocation times of its principal and of everything, in one round trip (after gcra.lua).
-- KEYS[1] rate state, KEYS[2] the principal's "not before", KEYS[3] the global one.
-- ARGV[1] the rate's window (microseconds), ARGV[2] burst (requests per window; 0: no rate),
-- ARGV[3] cost (1 counts, 0 only looks).
-- Returns "admitted remaining retry_after_us until_full_us principal_nb all_nb" in one string
-- (one bulk reply, as grant.lua answers; "-" for a missing time).
-- A time is whole seconds as `revoke` writes them, passed on as written; anything else (or
-- more than 18 digits, beyond what the broker reads as a 64-bit number) is no time.
local function time_of(key)
  local text = redis.call('GET', key)
  local digits = text and string.match(text, '^-?(%d+)$')
  if digits and #digits <= 18 then
    return text
  end
  return '-'
end
local nb_principal = time_of(KEYS[2])
local nb_all = time_of(KEYS[3])
local burst = tonumber(ARGV[2])
if burst == 0 then
  return string.format('1 0 0 0 %s %s', nb_principal, nb_all)
end
local admitted, remaining, retry, full = gcra(KEYS[1], tonumber(ARGV[1]), burst, tonumber(ARGV[3]), now_us())
return string.format('%d %d %d %d %s %s', admitted, remaining, retry, full, nb_principal, nb_all)
