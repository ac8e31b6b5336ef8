-- delete_id.lua: unlist the number that an entry id names, and drop its entry, atomically.
-- KEYS[1] <prefix>:{org}:numbers   set of listed E.164 numbers
-- KEYS[2] <prefix>:{org}:entries   hash E.164 -> entry JSON
-- KEYS[3] <prefix>:{org}:ids       hash entry id -> E.164
-- KEYS[4] <prefix>:{org}:added     zset E.164 scored by createdAt (ms)
-- ARGV[1] the entry id
-- Reply: the E.164 number removed, or nil when the org has no entry with that id.
local number = redis.call('HGET', KEYS[3], ARGV[1])
if not number then return false end
redis.call('SREM', KEYS[1], number)
redis.call('HDEL', KEYS[2], number)
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], number)
return number
