-- remove.lua: unlist numbers and drop their entries, atomically.
-- KEYS[1] <prefix>:{org}:entries   hash "+E.164" -> entry JSON (and the "enabled" switch)
-- KEYS[2] <prefix>:{org}:ids       hash entry id -> E.164
-- KEYS[3] <prefix>:{org}:added     zset E.164 scored by createdAt (ms)
-- ARGV    the E.164 numbers
-- Reply: how many of them were listed (and are now removed).
local removed = 0
for i = 1, #ARGV do
  local number = ARGV[i]
  local entry = redis.call('HGET', KEYS[1], number)
  if entry then
    local ok, decoded = pcall(cjson.decode, entry)
    if ok and type(decoded) == 'table' and type(decoded.id) == 'string' then
      redis.call('HDEL', KEYS[2], decoded.id)
    end
    redis.call('HDEL', KEYS[1], number)
    removed = removed + 1
  end
  redis.call('ZREM', KEYS[3], number)
end
return removed
