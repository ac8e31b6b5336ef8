-- check.lua: may this org dial this number? One round trip for toggle and membership.
-- KEYS[1] <prefix>:{org}:enabled   toggle, "1" or "0"; absent means ARGV[2]
-- KEYS[2] <prefix>:{org}:numbers   set of listed E.164 numbers
-- KEYS[3] <prefix>:{org}:entries   hash E.164 -> entry JSON
-- ARGV[1] the E.164 number
-- ARGV[2] the default toggle, "1" or "0"
-- Reply: 0 = DNC disabled for the org; 1 = enabled and not listed;
--        a string = listed: the entry's JSON ("" when it has none).
local enabled = redis.call('GET', KEYS[1])
if not enabled then enabled = ARGV[2] end
if enabled == '0' then return 0 end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return 1 end
return redis.call('HGET', KEYS[3], ARGV[1]) or ''
