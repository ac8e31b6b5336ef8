-- check.lua: the org's switch and, when DNC is on, one number's record and the rule
-- that matches it.
-- KEYS    meta, f, d (lib.lua)
-- ARGV[1] the number's E.164 digits without "+" ("" for the switch alone)
-- ARGV[2] "1" or "0": the switch of an org that never set it
-- Reply: {state, L, p, epoch, rule, record, index, text, ...}: state 0 (DNC off),
-- 1 (on, not listed) or 2 (on, listed: then the record and the dictionary texts it
-- names); L and p size the bucket table, and epoch marks the org's data ("" when it has
-- none); rule is the longest of the org's rules that the number begins with ("" when
-- none). Whether the record has expired the caller decides, by the server's clock read
-- in the same pipeline (TIME is not for read-only scripts everywhere).
-- This is the check's slow path: a check reads one bucket with HMGET (store.go) and
-- calls this only when the bucket it read is not the number's (the table grew since).
local s, err = state()
if not s then return redis.error_reply(err) end
local out = {0, s.L, s.p, s.epoch or '', ''}
if switch(s, ARGV[2]) == '0' then return out end
out[1] = 1
if ARGV[1] == '' then return out end
local prefixes = {}
for i = 1, #ARGV[1] do prefixes[i] = string.sub(ARGV[1], 1, i) end
local hits = redis.call('SMISMEMBER', BASE .. 'rules', unpack(prefixes))
for i = #hits, 1, -1 do
  if hits[i] == 1 then
    out[5] = prefixes[i]
    break
  end
end
if not s.v then return out end
local bkey = bucketKey(ARGV[1], s.L, s.p)
local rec = redis.call('HGET', bkey, ARGV[1])
if not rec then
  if not homeExists(bkey) then
    return redis.error_reply('DNCCORRUPT bucket ' .. bkey .. ' is missing: evicted or deleted')
  end
  return out
end
out[1], out[6] = 2, rec
dictOf(rec, out, {})
return out
