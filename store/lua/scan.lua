-- scan.lua: some of the org's listed numbers, bucket by bucket.
-- KEYS    meta, f, d (lib.lua)
-- ARGV[1] the bucket to start at (0 first), ARGV[2] how many numbers to aim for
-- Reply: {next, digits, ...}: next is the bucket to pass next time, 0 when done.
-- Buckets only split upwards (bucket i's entries move to i + 2^L), so a number listed
-- for the whole scan is in a bucket not yet read, or was read already.
local s, err = state()
if not s then return redis.error_reply(err) end
local b, aim = tonumber(ARGV[1]), tonumber(ARGV[2])
local last = 2 ^ s.L + s.p - 1
local out, read = {0}, 0
while b <= last and #out - 1 < aim and read < 200 do
  local fields = redis.call('HKEYS', BASE .. 'b:' .. b)
  for _, f in ipairs(fields) do
    if string.byte(f, 1) ~= 126 then out[#out + 1] = f end -- 126: "~", the bucket's own fields
  end
  b, read = b + 1, read + 1
end
if b <= last then out[1] = b end
return out
