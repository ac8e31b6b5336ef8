-- toggle.lua: switch DNC on or off for the org, in the meta hash and in every bucket's
-- stamp, a bounded number of buckets a call. Checks read the stamps. Switching off
-- writes the meta hash first; switching on writes it last, once every bucket says on:
-- a switch cut short (Redis failing, the caller giving up) leaves buckets that still
-- skip, never one that dials while the org reads as enabled.
-- KEYS    meta, f, d (lib.lua)
-- ARGV[1] "1" (on) or "0" (off)
-- ARGV[2] an epoch for the org's data, used if the org has none yet
-- ARGV[3] "" to start a switch; else the generation a previous call returned
-- ARGV[4] the first bucket to stamp
-- and the audit log's four (lib_audit.lua): the event goes with the call that writes the
-- meta hash's switch (the first when switching off, the last when switching on).
-- Reply: {generation, next}: call again with them until next is 0; {-1, 0} when a later
-- switch has started (it stamps every bucket itself).
local s, err = state()
if not s then return redis.error_reply(err) end
local aerr = auditReady()
if aerr then return redis.error_reply(aerr) end
create(s, ARGV[2])
local gen
if ARGV[3] == '' then
  gen = redis.call('HINCRBY', META, 'tg', 1)
  if ARGV[1] == '0' then
    redis.call('HSET', META, 'enabled', '0')
    audit()
  end
else
  gen = tonumber(redis.call('HGET', META, 'tg'))
  if gen ~= tonumber(ARGV[3]) then return {-1, 0} end
end
local count = 2 ^ s.L + s.p
local from = tonumber(ARGV[4])
local to = math.min(from + 500, count)
local st = stamp(ARGV[1], s.epoch, s.rv) -- the meta hash's rules version is the newest
for b = from, to - 1 do
  redis.call('HSET', BASE .. 'b:' .. b, '~e', st)
end
if to >= count then
  to = 0
  if ARGV[1] ~= '0' then
    redis.call('HSET', META, 'enabled', ARGV[1])
    audit()
  end
end
return {gen, to}
