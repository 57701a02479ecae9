-- One multipart upload opened in every set of open uploads (sorted sets scored by expiry),
-- all or none. KEYS: the sets. ARGV[1] now, ARGV[2] the member, ARGV[3] its expiry (Unix
-- seconds), then one limit per key. Returns {0, 0} when opened, else {index, expiry of the
-- oldest open upload of the full set}.
local now = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if not redis.call('ZSCORE', key, ARGV[2]) and redis.call('ZCARD', key) >= tonumber(ARGV[3 + i]) then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return {i, tonumber(oldest[2] or now)}
  end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, ARGV[3], ARGV[2])
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  redis.call('EXPIREAT', key, last[2])
end
return {0, 0}
