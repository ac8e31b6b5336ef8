-- check_many.lua: the org's switch and, when DNC is on, which of the numbers are listed.
-- KEYS    meta, f, d (lib.lua)
-- ARGV[1] "1" or "0": the switch of an org that never set it
-- ARGV[2..] the numbers' E.164 digits without "+"
-- Reply: {0, epoch} DNC off; else {1, epoch, listed1, listed2, ...}, each 0 (not
-- listed), 1 (listed) or minus the expiry of a listed entry that expires (Unix seconds:
-- the caller judges it by the server's clock); epoch marks the org's data ("" when it
-- has none).
local s, err = state()
if not s then return redis.error_reply(err) end
local epoch = s.epoch or ''
if switch(s, ARGV[1]) == '0' then return {0, epoch} end
local out, seen = {1, epoch}, {}
for i = 2, #ARGV do
  local bkey = bucketKey(ARGV[i], s.L, s.p)
  local rec, listed = redis.call('HGET', bkey, ARGV[i]), 0
  if rec then
    listed = -(expiryOf(rec) or -1)
  elseif s.v and seen[bkey] == nil then
    seen[bkey] = homeExists(bkey)
    if not seen[bkey] then
      return redis.error_reply('DNCCORRUPT bucket ' .. bkey .. ' is missing: evicted or deleted')
    end
  end
  out[i + 1] = listed
end
return out
