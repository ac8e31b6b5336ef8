-- delete_id.lua: unlist the number that an entry id names, and drop its entry, atomically.
-- KEYS[1] <prefix>:{org}:entries   hash "+E.164" -> entry JSON (and the "enabled" switch)
-- KEYS[2] <prefix>:{org}:ids       hash entry id -> E.164
-- KEYS[3] <prefix>:{org}:added     zset E.164 scored by createdAt (ms)
-- ARGV[1] the entry id
-- Reply: the E.164 number removed, or nil when the org has no entry with that id.
-- An id whose number's entry carries another id (or none that can be read) is stale:
-- it is dropped, and the entry is left alone.
local number = redis.call('HGET', KEYS[2], ARGV[1])
if not number then return false end
local entry = redis.call('HGET', KEYS[1], number)
local ok, decoded = false, nil
if entry then ok, decoded = pcall(cjson.decode, entry) end
if not (ok and type(decoded) == 'table' and decoded.id == ARGV[1]) then
  redis.call('HDEL', KEYS[2], ARGV[1])
  return false
end
redis.call('HDEL', KEYS[1], number)
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], number)
return number
