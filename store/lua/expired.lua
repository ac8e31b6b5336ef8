-- expired.lua: the numbers of some buckets whose entries have expired by the server's
-- clock, for a purge to remove (remove.lua, which checks the expiry again).
-- KEYS    meta, f, d (lib.lua)
-- ARGV[1] the first bucket to read
-- ARGV[2] how many buckets to read at most
-- ARGV[3] the server's clock, Unix seconds (TIME is not for read-only scripts everywhere)
-- Reply: {next, digits, ...}: next is the bucket to go on from, 0 when the table is done.
local s, err = state()
if not s then return redis.error_reply(err) end
if not s.v then return {0} end
local from, count = tonumber(ARGV[1]), 2 ^ s.L + s.p
local to = math.min(from + tonumber(ARGV[2]), count)
local now, out = tonumber(ARGV[3]), {0}
for b = from, to - 1 do
  local kv = redis.call('HGETALL', BUCKET .. itoa(b))
  for j = 1, #kv, 2 do
    local x = expiryOf(kv[j + 1])
    if x and x <= now and string.byte(kv[j], 1) ~= 126 then out[#out + 1] = kv[j] end
  end
end
if to < count then out[1] = to end
return out
