-- list.lua: one page of the org's entries, newest first, and how many there are.
-- KEYS    meta, f, d (lib.lua)
-- ARGV[1] offset (0-based, from the newest), ARGV[2] limit (0: the count alone)
-- Reply: {total, epoch, k, digits1, record1, ..., digitsk, recordk}: k entries (a
-- record is "" when the log names a number whose record is gone or newer); the caller
-- reads the dictionary texts they name from its cache of the epoch's dictionary.
-- Cost: for each log block the page touches, one HMGET, and unless nothing was ever
-- removed from the list, locate (lib_counts.lua: an HGET per binary digit of the number
-- of block groups, and one HGET, or one HGETALL of the group's counts when entries were
-- removed from it) and one HLEN (and an HKEYS when entries were removed from the
-- block); then one HGET per entry: flat in the offset, logarithmic in the list's size.
local s, err = state()
if not s then return redis.error_reply(err) end
local total, offset, limit = s.n, tonumber(ARGV[1]), tonumber(ARGV[2])
local out = {total, s.epoch or '', 0}
if offset >= total or limit <= 0 then return out end
local rank = total - offset   -- the page's first entry is the rank-th oldest
local want = math.min(limit, rank)
local entries = {}
-- A list from which nothing was ever removed (as many live entries as sequence numbers
-- given) holds every sequence number from 1 up: the rank-th oldest entry is sequence
-- number rank, and its block and place in it are found by arithmetic, as locate finds
-- them in a group without holes.
local whole = s.n == s.seq
while want > 0 do
  local pos, k
  if whole then
    pos = floor(rank / BLOCK)
    k = rank - math.max(1, pos * BLOCK) + 1
  else
    pos, k = locate(rank, s.seq)
    if not pos then return redis.error_reply(k) end
  end
  -- The block's live offsets, ascending: by arithmetic when none was removed.
  local offs = {}
  local lo = pos * BLOCK
  local n = assigned(lo, lo + BLOCK - 1, s.seq)
  if whole or redis.call('HLEN', logKey(pos)) == n then
    local first = math.max(1, lo) - lo
    for j = 1, n do offs[j] = first + j - 1 end
  else
    local keys = redis.call('HKEYS', logKey(pos))
    for j = 1, #keys do offs[j] = tonumber(keys[j]) end
    table.sort(offs)
  end
  if k > #offs or k < 1 then
    return redis.error_reply('DNCCORRUPT log block ' .. pos .. ' holds ' .. #offs .. ' entries; the count says at least ' .. k)
  end
  local take = {}
  for j = k, math.max(1, k - want + 1), -1 do take[#take + 1] = offs[j] end
  local nums = redis.call('HMGET', logKey(pos), unpack(take))
  for j = 1, #take do
    local digits = nums[j]
    if not digits then
      return redis.error_reply('DNCCORRUPT log block ' .. pos .. ' lacks entry ' .. take[j] .. ' of a list nothing was removed from')
    end
    local seq = pos * BLOCK + take[j]
    local rec = redis.call('HGET', bucketKey(digits, s.L, s.p), digits)
    -- '': gone, or another entry's (foreign data); a record too short to read goes as it is
    if not rec or (#rec >= 5 and unpackBE(rec, 1, 5) ~= seq) then rec = '' end
    entries[#entries + 1] = digits
    entries[#entries + 1] = rec
  end
  want, rank = want - #take, rank - #take
end
out[3] = #entries / 2
for _, v in ipairs(entries) do out[#out + 1] = v end
return out
