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
        gone[blk] = gone[blk] or {}
        table.insert(gone[blk], seq % BLOCK)
      end
      removed = removed + 1
    end
  end
end
-- log slots go one HDEL per block; a slot already gone (foreign data) counts nothing
for blk, offs in pairs(gone) do
  delta[blk] = -redis.call('HDEL', logKey(blk), unpack(offs))
end
if removed > 0 then
  redis.call('HSET', META, 'n', s.n - removed)
  counted(delta)
end
return removed
