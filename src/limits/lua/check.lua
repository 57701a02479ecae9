-- One authenticated request: the GCRA rate of its class (when ARGV[2] > 0) and the
-- revocation times of its principal and of everything, in one round trip (after gcra.lua).
-- KEYS[1] rate state, KEYS[2] the principal's "not before", KEYS[3] the global one.
-- ARGV[1] the rate's window (microseconds), ARGV[2] burst (requests per window; 0: no rate),
-- ARGV[3] cost (1 counts, 0 only looks).
-- Returns {admitted, remaining, retry_after_us, until_full_us, principal_nb, all_nb}
-- ("" for a missing time).
local nb_principal = redis.call('GET', KEYS[2]) or ''
local nb_all = redis.call('GET', KEYS[3]) or ''
local burst = tonumber(ARGV[2])
if burst == 0 then
  return {1, 0, 0, 0, nb_principal, nb_all}
end
local admitted, remaining, retry, full = gcra(KEYS[1], tonumber(ARGV[1]), burst, tonumber(ARGV[3]), now_us())
return {admitted, remaining, retry, full, nb_principal, nb_all}
