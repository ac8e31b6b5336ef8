-- get.lua: one number's record.
-- KEYS    meta, f, d (lib.lua)
-- ARGV[1] the number's E.164 digits without "+"
-- ARGV[2] "" (any entry) or a sequence number (only the entry with it: get by id)
-- Reply: {} when not listed (or listed under another sequence number); else
-- {record, index, text, ...} with the dictionary texts the record names.
local s, err = state()
if not s then return redis.error_reply(err) end
local rec = redis.call('HGET', bucketKey(ARGV[1], s.L, s.p), ARGV[1])
if not rec then return {} end
if ARGV[2] ~= '' and (#rec < 5 or unpackBE(rec, 1, 5) ~= tonumber(ARGV[2])) then return {} end
local out = {rec}
dictOf(rec, out, {})
return out
