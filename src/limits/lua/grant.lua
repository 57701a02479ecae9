-- One grant in one round trip (after gcra.lua): the revocation and the class rate of its
-- request (when the request's admission was left to the grant), the profile's rate of grants,
-- then the quota counters and, for a grant that creates a multipart upload, the sets of open
-- uploads, debited and opened all or none. Each step runs only when the ones before it
-- passed, in the order of separate checks: a rate admitted stays counted when a later step
-- refuses; the quotas are debited and the upload opened only when everything passed.
-- KEYS[1] the class's rate state, KEYS[2] the profile's, KEYS[3] the principal's "not
-- before", KEYS[4] the global one, KEYS[5..4+n] the n quota counters, then the sets of open
-- uploads (sorted sets of members scored by expiry), if any.
-- ARGV[1] 1: check the revocation times against ARGV[2], the credential's issue time (Unix
-- seconds; "" unknown); ARGV[3], ARGV[4] the class rate's window (microseconds) and burst
-- (requests per window; 0: none); ARGV[5], ARGV[6] the profile's; ARGV[7] seconds until the
-- quota window ends (the counters' expiry); ARGV[8] n; then one (amount, limit) pair per
-- counter; then, when sets follow: now (Unix seconds, the broker's), the upload's member, its
-- expiry (Unix seconds), and one limit per set.
-- Returns "verdict remaining retry_after_us until_full_us counter", five decimal integers
-- in one string (one bulk reply: cheaper to make here and to read in the broker than an array
-- of five): verdict 0 granted (the rate fields are the class rate's), 1 revoked, 2 over the
-- class rate, 3 over the profile's rate (the fields are the refusing rate's), 4 over the
-- quota of counter (1-based), 5 the set `counter` (1-based) is full, and retry_after_us is
-- then the expiry of its oldest upload (Unix seconds). `%d` truncates toward zero, as an
-- integer reply would.
local function answer(verdict, remaining, retry, full, counter)
  return string.format('%d %d %d %d %d', verdict, remaining, retry, full, counter)
end
local counters = tonumber(ARGV[8])
local last = 4 + counters
-- One read of the revocation times and every quota counter (KEYS[3..last]): the script runs
-- atomically and the rate steps below write only KEYS[1] and KEYS[2], so reading the
-- counters first sees what reading them later would, for one call instead of three.
local read = redis.call('MGET', unpack(KEYS, 3, last))
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
for i = 5, last do
  local used = tonumber(read[i - 2] or '0')
  local at = 2 * (i - 4) + 7
  if used + tonumber(ARGV[at]) > tonumber(ARGV[at + 1]) then
    return answer(4, 0, 0, 0, i - 4)
  end
end
-- The sets of open uploads: expired uploads leave first; a set is full when it holds its
-- limit of uploads and not this one (a create retried under the same member).
local opening = 2 * counters + 9
for i = last + 1, #KEYS do
  local set = KEYS[i]
  redis.call('ZREMRANGEBYSCORE', set, '-inf', ARGV[opening])
  if not redis.call('ZSCORE', set, ARGV[opening + 1])
    and redis.call('ZCARD', set) >= tonumber(ARGV[opening + 3 + i - last - 1]) then
    local oldest = redis.call('ZRANGE', set, 0, 0, 'WITHSCORES')
    return answer(5, 0, tonumber(oldest[2] or ARGV[opening]), 0, i - last)
  end
end
for i = 5, last do
  -- A counter lives until its window ends: its expiry is set when it is made.
  local amount = ARGV[2 * (i - 4) + 7]
  if redis.call('INCRBY', KEYS[i], amount) == tonumber(amount) then
    redis.call('EXPIRE', KEYS[i], ARGV[7])
  end
end
for i = last + 1, #KEYS do
  -- A set lives until its last upload expires.
  redis.call('ZADD', KEYS[i], ARGV[opening + 2], ARGV[opening + 1])
  local latest = redis.call('ZRANGE', KEYS[i], -1, -1, 'WITHSCORES')
  redis.call('EXPIREAT', KEYS[i], latest[2])
end
return answer(0, remaining, 0, full, 0)
