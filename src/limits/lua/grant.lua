-- One grant in one round trip (after gcra.lua): the revocation and the class rate of its
-- request (when the request's admission was left to the grant), the profile's rate of grants,
-- then the quota counters, debited all or none. Each step runs only when the ones before it
-- passed, in the order of separate checks: a rate admitted stays counted when a later step
-- refuses; the quotas are debited only when everything passed.
-- KEYS[1] the class's rate state, KEYS[2] the profile's, KEYS[3] the principal's "not
-- before", KEYS[4] the global one, KEYS[5..] the quota counters.
-- ARGV[1] 1: check the revocation times against ARGV[2], the credential's issue time (Unix
-- seconds; "" unknown); ARGV[3], ARGV[4] the class rate's window (microseconds) and burst
-- (requests per window; 0: none); ARGV[5], ARGV[6] the profile's; ARGV[7] seconds until the quota window
-- ends (the counters' expiry); then one (amount, limit) pair per counter.
-- Returns "verdict remaining retry_after_us until_full_us counter", five decimal integers
-- in one string (one bulk reply: cheaper to make here and to read in the broker than an array
-- of five): verdict 0 granted (the rate fields are the class rate's), 1 revoked, 2 over the
-- class rate, 3 over the profile's rate (the fields are the refusing rate's), 4 over the
-- quota of counter (1-based). `%d` truncates toward zero, as an integer reply would.
local function answer(verdict, remaining, retry, full, counter)
  return string.format('%d %d %d %d %d', verdict, remaining, retry, full, counter)
end
-- One read of the revocation times and every quota counter (KEYS[3..]): the script runs
-- atomically and the rate steps below write only KEYS[1] and KEYS[2], so reading the
-- counters first sees what reading them later would, for one call instead of three.
local read = redis.call('MGET', unpack(KEYS, 3))
if ARGV[1] == '1' then
  local nb = math.max(tonumber(read[1] or '-1') or -1, tonumber(read[2] or '-1') or -1)
  if nb >= 0 and (ARGV[2] == '' or tonumber(ARGV[2]) < nb) then
    return answer(1, 0, 0, 0, 0)
  end
end
local now
local remaining, full = 0, 0
local burst = tonumber(ARGV[4])
if burst > 0 then
  now = now_us()
  local admitted, left, retry, until_full = gcra(KEYS[1], tonumber(ARGV[3]), burst, 1, now)
  if admitted == 0 then
    return answer(2, 0, retry, until_full, 0)
  end
  remaining, full = left, until_full
end
burst = tonumber(ARGV[6])
if burst > 0 then
  now = now or now_us()
  local admitted, left, retry, until_full = gcra(KEYS[2], tonumber(ARGV[5]), burst, 1, now)
  if admitted == 0 then
    return answer(3, left, retry, until_full, 0)
  end
end
for i = 5, #KEYS do
  local used = tonumber(read[i - 2] or '0')
  local at = 2 * (i - 4) + 6
  if used + tonumber(ARGV[at]) > tonumber(ARGV[at + 1]) then
    return answer(4, 0, 0, 0, i - 4)
  end
end
for i = 5, #KEYS do
  -- A counter lives until its window ends: its expiry is set when it is made.
  if redis.call('INCRBY', KEYS[i], ARGV[2 * (i - 4) + 6]) == tonumber(ARGV[2 * (i - 4) + 6]) then
    redis.call('EXPIRE', KEYS[i], ARGV[7])
  end
end
return answer(0, remaining, 0, full, 0)
