-- remove.lua: unlist numbers, dropping their records, log slots and counts together.
-- KEYS    meta, f, d (lib.lua)
-- ARGV[i], ARGV[i+1] for i = 1, 3, ...: a number's E.164 digits without "+", and ""
--         (remove it whatever its entry) or a sequence number (remove it only if its
--         entry has that sequence number: delete by id)
-- Reply: how many numbers were removed.
-- It reads everything it needs (records, log slots, counts) before its first write, so
-- a key of another type or a count that is not a number fails it with nothing written;
-- numbers that share a bucket are read and deleted with one command.
local s, err = state()
if not s then return redis.error_reply(err) end
-- Numbers are grouped by bucket without a table each: head[bkey] is the first number's
-- place in ARGV, nxt[a] the next one's in the same bucket.
local head, nxt, last, order, seen = {}, {}, {}, {}, {}
for a = 1, #ARGV, 2 do
  local digits = ARGV[a]
  if not seen[digits] then -- a number named twice is removed once
    seen[digits] = true
    local bkey = bucketKey(digits, s.L, s.p)
    if head[bkey] then
      nxt[last[bkey]] = a
    else
      head[bkey] = a
      order[#order + 1] = bkey
    end
    last[bkey] = a
  end
end
local removed, drop, gone, blk, bs = 0, {}, {}, -1, nil
for _, bkey in ipairs(order) do
  local fields, at = {}, {}
  local a = head[bkey]
  while a do
    fields[#fields + 1] = ARGV[a]
    at[#at + 1] = a
    a = nxt[a]
  end
  local recs = hmgetMany(bkey, fields)
  local del = {}
  for j = 1, #fields do
    local rec, digits, want = recs[j], fields[j], ARGV[at[j] + 1]
    if rec then
      local seq = nil
      if #rec >= 5 then seq = seqOf(rec) end
      if want == '' or tonumber(want) == seq then
        del[#del + 1] = digits
        if seq then
          if floor(seq / BLOCK) ~= blk then
            blk = floor(seq / BLOCK)
            bs = itoa(blk)
          end
          local g = gone[bs]
          if not g then g = {offs = {}, digits = {}}; gone[bs] = g end
          g.offs[#g.offs + 1] = itoa(seq % BLOCK)
          g.digits[#g.digits + 1] = digits
        end
        removed = removed + 1
      end
    end
  end
  if #del > 0 then drop[bkey] = del end
end
-- A log slot goes only if it names the number (foreign data may say otherwise); the
-- count n follows the slots, as the counts do.
local slots, delta, blocks, any = {}, {}, {}, false
for blk, g in pairs(gone) do
  local named = hmgetMany(logKey(blk), g.offs)
  local offs = {}
  for j, d in ipairs(g.offs) do
    if named[j] == g.digits[j] then offs[#offs + 1] = d end
  end
  if #offs > 0 then
    slots[blk], delta[blk], blocks[blk], any = offs, -#offs, true, true
  end
end
local counts
if any then
  local cerr
  counts, cerr = countsRead(blocks)
  if not counts then return redis.error_reply(cerr) end
end
-- the writes
for _, bkey in ipairs(order) do
  if drop[bkey] then hdelMany(bkey, drop[bkey]) end
end
if any then
  local total = 0
  for blk, offs in pairs(slots) do
    hdelMany(logKey(blk), offs)
    total = total + #offs
  end
  redis.call('HSET', META, 'n', itoa(math.max(0, s.n - total)))
  countsWrite(counts, delta)
end
return removed
