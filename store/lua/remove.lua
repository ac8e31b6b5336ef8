-- remove.lua: unlist numbers and drop their entries, atomically.
-- KEYS[1] <prefix>:{org}:numbers   set of listed E.164 numbers
-- KEYS[2] <prefix>:{org}:entries   hash E.164 -> entry JSON
-- KEYS[3] <prefix>:{org}:ids       hash entry id -> E.164
-- KEYS[4] <prefix>:{org}:added     zset E.164 scored by createdAt (ms)
-- ARGV    the E.164 numbers
-- Reply: how many of them were listed (and are now removed).
local removed = 0
for i = 1, #ARGV do
  local number = ARGV[i]
  if redis.call('SREM', KEYS[1], number) == 1 then
    removed = removed + 1
  end
  local entry = redis.call('HGET', KEYS[2], number)
  if entry then
    local ok, decoded = pcall(cjson.decode, entry)
    if ok and type(decoded) == 'table' and type(decoded.id) == 'string' then
      redis.call('HDEL', KEYS[3], decoded.id)
    end
    redis.call('HDEL', KEYS[2], number)
  end
  redis.call('ZREM', KEYS[4], number)
end
return removed
