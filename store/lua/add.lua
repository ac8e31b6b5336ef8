-- add.lua: list numbers with their entries, atomically; a listed number is left as it is.
-- KEYS[1] <prefix>:{org}:entries   hash "+E.164" -> entry JSON (and the "enabled" switch)
-- KEYS[2] <prefix>:{org}:ids       hash entry id -> E.164
-- KEYS[3] <prefix>:{org}:added     zset E.164 scored by createdAt (ms)
-- ARGV[1] createdAt in ms; then for each entry three values:
--         ARGV[i] the E.164 number, ARGV[i+1] its new id, ARGV[i+2] its entry JSON
-- Reply: an array with one integer per entry: 1 = added, 0 = was already listed.
local added = {}
for i = 2, #ARGV, 3 do
  local number = ARGV[i]
  if redis.call('HSETNX', KEYS[1], number, ARGV[i + 2]) == 1 then
    redis.call('HSET', KEYS[2], ARGV[i + 1], number)
    redis.call('ZADD', KEYS[3], ARGV[1], number)
    added[#added + 1] = 1
  else
    added[#added + 1] = 0
  end
end
return added
