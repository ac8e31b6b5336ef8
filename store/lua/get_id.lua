-- get_id.lua: the entry that an id names.
-- KEYS[1] <prefix>:{org}:ids       hash entry id -> E.164
-- KEYS[2] <prefix>:{org}:entries   hash "+E.164" -> entry JSON (and the "enabled" switch)
-- ARGV[1] the entry id
-- Reply: {E.164 number, entry JSON}, or nil when the org has no entry with that id
-- (including a stale id, whose number's entry carries another id or none that can be read).
local number = redis.call('HGET', KEYS[1], ARGV[1])
if not number then return false end
local entry = redis.call('HGET', KEYS[2], number)
if not entry then return false end
local ok, decoded = pcall(cjson.decode, entry)
if not (ok and type(decoded) == 'table' and decoded.id == ARGV[1]) then return false end
return {number, entry}
