-- toggle.lua: switch DNC on or off for the org.
-- KEYS    meta, f, d (lib.lua)
-- ARGV[1] "1" (on) or "0" (off)
-- Reply: 1.
local s, err = state()
if not s then return redis.error_reply(err) end
redis.call('HSET', META, 'v', VERSION, 'enabled', ARGV[1])
return 1
