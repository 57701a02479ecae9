-- Quota counters of one grant, debited all or none.
-- KEYS: the counters. ARGV[1] seconds until the window ends (their expiry), then one
-- (amount, limit) pair per key. Returns 0 when all were debited, else the 1-based index of
-- the first counter that would go over its limit.
for i, key in ipairs(KEYS) do
  local used = tonumber(redis.call('GET', key) or '0')
  if used + tonumber(ARGV[2 * i]) > tonumber(ARGV[2 * i + 1]) then
    return i
  end
end
for i, key in ipairs(KEYS) do
  redis.call('INCRBY', key, ARGV[2 * i])
  redis.call('EXPIRE', key, ARGV[1])
end
return 0
