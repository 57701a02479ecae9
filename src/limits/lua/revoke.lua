-- A "not before" time (Unix seconds) that only ever moves forward. KEYS[1] the time's key,
-- ARGV[1] the new time.
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1])
end
return 0
