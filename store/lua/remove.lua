-- remove.lua: unlist numbers, dropping their records, log slots and counts together.
-- KEYS    meta, f, d (lib.lua)
-- ARGV[i], ARGV[i+1] for i = 1, 3, ...: a number's E.164 digits without "+", and ""
--         (remove it whatever its entry) or a sequence number (remove it only if its
--         entry has that sequence number: delete by id)
-- Reply: how many numbers were removed.
local s, err = state()
if not s then return redis.error_reply(err) end
local removed, delta, gone = 0, {}, {}
for a = 1, #ARGV, 2 do
  local digits, want = ARGV[a], ARGV[a + 1]
  local bkey = bucketKey(digits, s.L, s.p)
  local rec = redis.call('HGET', bkey, digits)
  if rec then
    local seq = nil
    if #rec >= 5 then seq = unpackBE(rec, 1, 5) end
    if want == '' or tonumber(want) == seq then
      redis.call('HDEL', bkey, digits)
      if seq then
        local blk = tostring(math.floor(seq / BLOCK))
        gone[blk] = gone[blk] or {offs = {}, digits = {}}
        table.insert(gone[blk].offs, seq % BLOCK)
        table.insert(gone[blk].digits, digits)
      end
      removed = removed + 1
    end
  end
end
-- A log slot goes only if it names the number (foreign data may say otherwise); the
-- count n follows the slots, as the Fenwick tree does.
local slots = 0
for blk, g in pairs(gone) do
  local named = redis.call('HMGET', logKey(blk), unpack(g.offs))
  local drop = {}
  for j, d in ipairs(g.offs) do
    if named[j] == g.digits[j] then drop[#drop + 1] = d end
  end
  if #drop > 0 then
    local n = redis.call('HDEL', logKey(blk), unpack(drop))
    delta[blk], slots = -n, slots + n
  end
end
if slots > 0 then
  redis.call('HSET', META, 'n', math.max(0, s.n - slots))
  counted(delta)
end
return removed
