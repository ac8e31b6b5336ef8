-- rules_stamp.lua: write the org's rules version (the meta hash's "rv") into the stamps
-- of a bounded number of buckets, after rule.lua changed the rules. A bucket's version
-- only goes up; a bucket that a split makes copies its source's stamp, and splits only
-- add buckets at the end of the table, which the walk reaches later.
-- KEYS    meta, f, d (lib.lua)
-- ARGV[1] the first bucket to stamp
-- ARGV[2] the version the walk was started for: when it ends, every bucket names it or
--         a later one, and the meta hash's "rs" says so
-- Reply: the next bucket, or 0 when every bucket names the version or a later one.
local s, err = state()
if not s then return redis.error_reply(err) end
if not s.v or s.rv == 0 then return 0 end
local count = 2 ^ s.L + s.p
local from = tonumber(ARGV[1])
local to = math.min(from + 250, count)
for b = from, to - 1 do
  local key = BUCKET .. itoa(b)
  local old = redis.call('HGET', key, '~e')
  if old then
    local sw, v, epoch = string.match(old, '^(.)r?(%d*):(.*)$')
    if sw and (tonumber(v) or 0) < s.rv then redis.call('HSET', key, '~e', stamp(sw, epoch, s.rv)) end
  end
end
if to < count then return to end
if tonumber(redis.call('HGET', META, 'rs') or '0') < tonumber(ARGV[2]) then
  redis.call('HSET', META, 'rs', ARGV[2])
end
return 0
