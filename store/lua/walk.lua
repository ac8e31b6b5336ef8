-- walk.lua: the live entries of some log blocks, oldest first: what an export reads.
-- KEYS    meta, f, d (lib.lua)
-- ARGV[1] the first log block to read (0 to start)
-- ARGV[2] how many blocks to read at most
-- Reply: {next, k, digits1, record1, ..., digitsk, recordk, index, text, ...}: next is
-- the block to pass next time, -1 when the last block written so far has been read;
-- then the k entries and the dictionary texts their records name. A record is "" when
-- the number's record is gone or belongs to a newer entry (the log slot is stale).
-- Cost: one HGETALL a block and one HGET an entry; at most ARGV[2] * 128 entries.
local s, err = state()
if not s then return redis.error_reply(err) end
local first, last = tonumber(ARGV[1]), math.floor(s.seq / BLOCK)
local stop = math.min(first + tonumber(ARGV[2]) - 1, last)
local entries, dict, seen = {}, {}, {}
for b = first, stop do
  local kv = redis.call('HGETALL', logKey(b))
  local offs, byOff = {}, {}
  for j = 1, #kv, 2 do
    local o = tonumber(kv[j])
    offs[#offs + 1] = o
    byOff[o] = kv[j + 1]
  end
  table.sort(offs)
  for _, o in ipairs(offs) do
    local digits = byOff[o]
    local rec = redis.call('HGET', bucketKey(digits, s.L, s.p), digits) or ''
    if #rec < 5 or unpackBE(rec, 1, 5) ~= b * BLOCK + o then rec = '' end
    entries[#entries + 1] = digits
    entries[#entries + 1] = rec
    dictOf(rec, dict, seen)
  end
end
local next = stop + 1
if stop >= last then next = -1 end
local out = {next, #entries / 2}
for _, v in ipairs(entries) do out[#out + 1] = v end
for _, v in ipairs(dict) do out[#out + 1] = v end
return out
