-- check.lua: the org's switch and, when DNC is on, one number's record.
-- KEYS    meta, f, d (lib.lua)
-- ARGV[1] the number's E.164 digits without "+" ("" for the switch alone)
-- ARGV[2] "1" or "0": the switch of an org that never set it
-- Reply: {0} DNC off; {1} on, not listed; {1, record, index, text, ...} on and listed,
-- with the dictionary texts the record names.
local s, err = state()
if not s then return redis.error_reply(err) end
if switch(s, ARGV[2]) == '0' then return {0} end
if ARGV[1] == '' then return {1} end
local rec = redis.call('HGET', bucketKey(ARGV[1], s.L, s.p), ARGV[1])
if not rec then return {1} end
local out = {1, rec}
dictOf(rec, out, {})
return out
