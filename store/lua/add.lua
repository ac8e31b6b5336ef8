-- add.lua: list numbers with their metadata; a listed number is left as it is.
-- KEYS    meta, f, d (lib.lua)
-- ARGV[1] createdAt: 6 bytes, big-endian Unix milliseconds
-- ARGV[2] an epoch for the org's data, used if the org has none yet
-- ARGV[i], ARGV[i+1], ARGV[i+2], ARGV[i+3] for i = 3, 7, ...: a number's E.164 digits
--         without "+", its type, its batchId, its requestUUID part (record.go)
-- Reply: one integer per number: its new sequence number, or, when it was listed
-- already, minus the sequence number of its entry (0 if its record is unreadable).
-- Each new number gets its bucket field, its log slot and its Fenwick count together;
-- the table grows by a bucket whenever the mean load passes LOAD.
local s, err = state()
if not s then return redis.error_reply(err) end
local L, p, n, seq = s.L, s.p, s.n, s.seq
if seq + (#ARGV - 2) / 4 > MAXG * GROUP * BLOCK - 1 then
  return redis.error_reply('DNCFULL the org has used all its sequence numbers')
end

-- The dictionary gains a text only when a new number needs it: adding numbers that are
-- all listed already writes nothing.
local known = {}   -- text -> its index, or false when the dictionary lacks it
local function find(text)
  if text == '' then return 0 end
  local i = known[text]
  if i == nil then
    i = redis.call('HGET', DICT, 's' .. text)
    if i then i = tonumber(i) else i = false end
    known[text] = i
  end
  return i
end
local function intern(text)
  local i = find(text)
  if i then return i end
  i = redis.call('HINCRBY', META, 'dict', 1)
  redis.call('HSET', DICT, 's' .. text, i, 'i' .. i, text)
  known[text] = i
  return i
end

-- split moves the entries of bucket p that belong to bucket p + 2^L there. Both then
-- have depth L + 1 ("~d"), and the new one the old one's stamp ("~e"). It writes the
-- new bucket before it deletes from the old one, and fields that are not a number's
-- digits (foreign data) stay where they are.
local function split()
  local m = 2 ^ L
  local src, dst = BASE .. 'b:' .. p, BASE .. 'b:' .. (p + m)
  local kv = redis.call('HGETALL', src)
  local fields, moved = {}, {'~d', L + 1}
  for j = 1, #kv, 2 do
    local f = kv[j]
    if f == '~e' then
      moved[#moved + 1] = f
      moved[#moved + 1] = kv[j + 1]
    elseif string.find(f, '^%d+$') and #f <= 15 and hash(f) % (2 * m) ~= p then
      fields[#fields + 1] = f
      moved[#moved + 1] = f
      moved[#moved + 1] = kv[j + 1]
    end
  end
  hsetMany(dst, moved)
  hdelMany(src, fields)
  redis.call('HSET', src, '~d', L + 1)
  p = p + 1
  if p == m then L, p = L + 1, 0 end
end

-- Nothing may fail once the first number is written (a script's writes are not undone
-- on an error): the dictionary's room, and the type of every key the numbers or the
-- splits they cause can write, are checked first.
do
  local texts, room = {}, 0
  for a = 3, #ARGV, 4 do
    for _, t in ipairs({ARGV[a + 1], ARGV[a + 2], string.byte(ARGV[a + 3], 1) == 3 and string.sub(ARGV[a + 3], 2) or ''}) do
      if t ~= '' and not texts[t] then texts[t] = true; room = room + 1 end
    end
  end
  if tonumber(redis.call('HGET', META, 'dict') or '0') + room > 16777215 then
    return redis.error_reply('DNCFULL the org\'s dictionary of types and batch ids is full')
  end
  local keys, bp, bL = {}, p, L
  for a = 3, #ARGV, 4 do keys[bucketKey(ARGV[a], L, p)] = true end
  for _ = 0, math.floor((#ARGV - 2) / 4 / LOAD) + 1 do -- the splits this call can cause
    keys[BASE .. 'b:' .. bp] = true
    keys[BASE .. 'b:' .. (bp + 2 ^ bL)] = true
    bp = bp + 1
    if bp == 2 ^ bL then bL, bp = bL + 1, 0 end
  end
  for k in pairs(keys) do
    local t = redis.call('TYPE', k).ok
    if t ~= 'hash' and t ~= 'none' then
      return redis.error_reply('DNCCORRUPT ' .. k .. ' holds a ' .. t .. ', not a bucket')
    end
  end
end
create(s, ARGV[2])

-- the log slots of new numbers, written one HSET per block
local slots, slotBlk = {}, nil
local function flush()
  if #slots > 0 then redis.call('HSET', logKey(slotBlk), unpack(slots)) end
  slots = {}
end

local out, delta, first = {}, {}, seq + 1
for a = 3, #ARGV, 4 do
  local digits, u = ARGV[a], ARGV[a + 3]
  local long = string.byte(u, 1) == 3 and string.sub(u, 2)
  local bkey, new = bucketKey(digits, L, p), 0
  local t, b, l = find(ARGV[a + 1]), find(ARGV[a + 2]), long and find(long)
  if t and b and (l or not long) then
    if long then u = '\3' .. pack3(l) end
    new = redis.call('HSETNX', bkey, digits, pack5(seq + 1) .. ARGV[1] .. pack3(t) .. pack3(b) .. u)
  elseif not redis.call('HGET', bkey, digits) then
    if long then u = '\3' .. pack3(intern(long)) end
    local rec = pack5(seq + 1) .. ARGV[1] .. pack3(intern(ARGV[a + 1])) .. pack3(intern(ARGV[a + 2])) .. u
    new = redis.call('HSET', bkey, digits, rec)
  end
  if new == 1 then
    seq, n = seq + 1, n + 1
    local blk = math.floor(seq / BLOCK)
    if blk ~= slotBlk then flush(); slotBlk = blk end
    slots[#slots + 1] = seq % BLOCK
    slots[#slots + 1] = digits
    out[#out + 1] = seq
    while n > LOAD * (2 ^ L + p) do split() end
  else
    local rec = redis.call('HGET', bkey, digits) or ''
    if #rec >= 5 then out[#out + 1] = -unpackBE(rec, 1, 5) else out[#out + 1] = 0 end
  end
end
flush()
for blk = math.floor(first / BLOCK), math.floor(seq / BLOCK) do
  local lo, hi = math.max(first, blk * BLOCK), math.min(seq, (blk + 1) * BLOCK - 1)
  if hi >= lo then delta[tostring(blk)] = hi - lo + 1 end
end
redis.call('HSET', META, 'v', VERSION, 'L', L, 'p', p, 'n', n, 'seq', seq)
counted(delta)
return out
