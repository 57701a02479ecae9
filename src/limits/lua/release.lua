-- Gives back the place of an upload whose create was refused after its grant script failed
-- or timed out (the script may have run all the same): removes ARGV[1] from each set of KEYS
-- only where its score is still ARGV[2], the expiry that create wrote. Another create of the
-- same object key (a retry, another instance) rewrites the score: its place stays.
local released = 0
for _, key in ipairs(KEYS) do
  local score = redis.call('ZSCORE', key, ARGV[1])
  if score and tonumber(score) == tonumber(ARGV[2]) then
    released = released + redis.call('ZREM', key, ARGV[1])
  end
end
return released
