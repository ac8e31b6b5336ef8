-- add.lua: list numbers with their metadata; a listed number is left as it is.
-- KEYS    meta, f, d (lib.lua)
-- ARGV[1] createdAt: 6 bytes, big-endian Unix milliseconds
-- ARGV[2] an epoch for the org's data, used if the org has none yet
-- ARGV[3] "5": ARGV[i] to ARGV[i+4] for i = 4, 9, ...: a number's E.164 digits without
--         "+", its type, its batchId, its requestUUID part (record.go) and its expiry
--         (4 bytes, big-endian Unix seconds, or "" for none); "1": ARGV[i] for i = 4,
--         5, ...: the digits of numbers that have none of the four (a shorter call when
--         no entry has metadata)
-- and the audit log's four (lib_audit.lua): one event when the call changed anything.
-- Reply: one integer per number: its new sequence number; when it was listed already,
--         minus the sequence number of its entry (0 if its record is unreadable); 0 when
--         it was named earlier in the same call.
-- Adding a listed number again never shortens its entry's life: an expiry is replaced
-- by a later one, and removed when the number comes without one; nothing else changes.
-- Each new number gets its bucket field, its log slot and its counts together, and the
-- table grows by a bucket whenever the mean load passes LOAD. A script's writes are not
-- undone when it fails part-way, so it reads and checks all it can first (dictionary,
-- counts, the types of the keys it will write), and a number's bucket key, which only
-- the write itself checks, is written with redis.pcall: if one fails, the fields this
-- script wrote before it are deleted again and nothing else has been written yet.
local s, err = state()
if not s then return redis.error_reply(err) end
local L, p, n, seq = s.L, s.p, s.n, s.seq
local aerr = auditReady()
if aerr then return redis.error_reply(aerr) end
if #ARGV[1] ~= 6 or string.byte(ARGV[1], 1) >= 128 then return redis.error_reply('ERR add: bad createdAt') end
local W = tonumber(ARGV[3])
if W ~= 1 and W ~= 5 or (#ARGV - 3) % W ~= 0 then return redis.error_reply('ERR add: bad arguments') end
local count = (#ARGV - 3) / W
if W == 5 then
  for a = 8, #ARGV, W do
    if #ARGV[a] ~= 0 and #ARGV[a] ~= 4 then return redis.error_reply('ERR add: bad expiry') end
  end
end
if seq + count > MAXG * GROUP * BLOCK - 1 then
  return redis.error_reply('DNCFULL the org has used all its sequence numbers')
end
-- meta returns the type, batchId and requestUUID part of the number at ARGV[a].
local function meta(a)
  if W == 1 then return '', '', '', '' end
  return ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
end

-- split moves the entries of bucket p that belong to bucket p + 2^L there. Both then
-- have depth L + 1 ("~d"), and the new one the old one's stamp ("~e"). It writes the
-- new bucket before it deletes from the old one, and fields that are not a number's
-- digits (foreign data) stay where they are.
local function split()
  local m = 2 ^ L
  local src, dst, depth = BUCKET .. itoa(p), BUCKET .. itoa(p + m), itoa(L + 1)
  local kv = redis.call('HGETALL', src)
  local fields, moved = {}, {'~d', depth}
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
  redis.call('HSET', src, '~d', depth)
  local rp, rl = rsplit(L, p)
  p = p + 1
  if p == m then L, p = L + 1, 0 end
  -- every fourth split, the requestUUID table splits bucket rp alike
  if rp then
    local rm = 2 ^ rl
    local moved = {}
    for _, x in ipairs(redis.call('SMEMBERS', RBUCKET .. itoa(rp))) do
      local fp = uparse(x)
      if fp and fp % (2 * rm) ~= rp then moved[#moved + 1] = x end
    end
    for j = 1, #moved, 200 do
      redis.call('SADD', RBUCKET .. itoa(rp + rm), unpack(moved, j, math.min(j + 199, #moved)))
      redis.call('SREM', RBUCKET .. itoa(rp), unpack(moved, j, math.min(j + 199, #moved)))
    end
  end
end

-- The dictionary: every distinct text the numbers name, read in one HMGET. A text it
-- lacks is added only when a new number needs it (adding numbers that are all listed
-- already writes nothing), and there must be room for all of them.
local index, dictTop, missing = {[''] = 0}, nil, 0 -- index: text -> its index, or false when the dictionary lacks it
-- folded: text -> the index its postings go under, that of the first text stored that
-- equals it but for case (lib_index.lua), 0 for ''; variants: lower-case text -> that
-- first index, for the texts whose lower-case form the dictionary has
local folded, variants = {[''] = 0}, {}
do
  local texts, fields = {}, {}
  local function note(t)
    if index[t] == nil then
      index[t] = false
      texts[#texts + 1] = t
      fields[#fields + 1] = 's' .. t
    end
  end
  for a = 4, #ARGV, W do
    if W == 1 then break end
    note(ARGV[a + 1])
    note(ARGV[a + 2])
    if string.byte(ARGV[a + 3], 1) == 3 then note(string.sub(ARGV[a + 3], 2)) end
  end
  if #fields > 0 then
    local v = hmgetMany(DICT, fields)
    local lfields = {}
    for _, t in ipairs(texts) do lfields[#lfields + 1] = 'l' .. string.lower(t) end
    local lv = hmgetMany(DICT, lfields)
    for j, t in ipairs(texts) do
      local first = tonumber(string.match(lv[j] or '', '^%d+') or '')
      if first then
        if first < 1 or first > 16777215 then
          return redis.error_reply('DNCCORRUPT ' .. DICT .. ' field ' .. lfields[j] .. ' holds ' .. lv[j])
        end
        variants[string.lower(t)] = first
      end
      if v[j] then
        local i = tonumber(v[j])
        if not i or i ~= floor(i) or i < 1 or i > 16777215 then
          return redis.error_reply('DNCCORRUPT ' .. DICT .. ' field s' .. t .. ' holds ' .. v[j] .. ', not an index')
        end
        index[t] = i
        folded[t] = first or i
      else
        missing = missing + 1
      end
    end
  end
  if missing > 0 then
    local top = redis.call('HGET', META, 'dict')
    dictTop = tonumber(top or '0')
    if not dictTop then return redis.error_reply('DNCCORRUPT ' .. META .. ' field dict holds ' .. top) end
    if dictTop + missing > 16777215 then
      return redis.error_reply('DNCFULL the org\'s dictionary of types and batch ids is full')
    end
  end
end

-- The keys' types: every bucket the splits this call can cause read or write (as many
-- as if every number were new), and the log blocks its sequence numbers can fall in.
-- While the table has fewer buckets than the call has numbers, many numbers share a
-- bucket: every bucket is checked here, and the table splits as the numbers go in, so
-- that no bucket outgrows a listpack. Otherwise the numbers go in first, the splits
-- follow, and a bucket key of another type fails its number's write, undone then.
local inline = 2 ^ L + p < count
do
  local keys = {}
  local bp, bL = p, L
  while n + count > LOAD * (2 ^ bL + bp) do
    keys[BUCKET .. itoa(bp)] = 'hash'
    keys[BUCKET .. itoa(bp + 2 ^ bL)] = 'hash'
    local rp, rl = rsplit(bL, bp)
    if rp then
      keys[RBUCKET .. itoa(rp)] = 'set'
      keys[RBUCKET .. itoa(rp + 2 ^ rl)] = 'set'
    end
    bp = bp + 1
    if bp == 2 ^ bL then bL, bp = bL + 1, 0 end
  end
  if inline then
    for b = 0, 2 ^ L + p - 1 do keys[BUCKET .. itoa(b)] = 'hash' end
    local rl, rp = rshape(L, p)
    for b = 0, 2 ^ rl + rp - 1 do keys[RBUCKET .. itoa(b)] = 'set' end
  end
  for blk = floor((seq + 1) / BLOCK), floor((seq + count) / BLOCK) do keys[logKey(blk)] = 'hash' end
  -- the number directories of the call's lengths; while inline, every chunk a number
  -- can go to too (chunks split only after the numbers are in)
  for a = 4, #ARGV, W do
    keys[odir(ARGV[a])] = 'zset'
  end
  for k, want in pairs(keys) do
    local t = redis.call('TYPE', k).ok
    if t ~= want and t ~= 'none' then
      return redis.error_reply('DNCCORRUPT ' .. k .. ' holds a ' .. t .. ', not a ' .. want)
    end
  end
  if inline then
    local chunks = {}
    for a = 4, #ARGV, W do
      local base = redis.call('ZREVRANGEBYSCORE', odir(ARGV[a]), ARGV[a], '-inf', 'LIMIT', 0, 1)[1] or '0'
      if not string.find(base, '^%d+$') or #base > 15 then
        return redis.error_reply('DNCCORRUPT ' .. odir(ARGV[a]) .. ' lists chunk ' .. base)
      end
      chunks[odir(ARGV[a]) .. ':' .. base] = true
    end
    for k in pairs(chunks) do
      local t = redis.call('TYPE', k).ok
      if t ~= 'set' and t ~= 'none' then
        return redis.error_reply('DNCCORRUPT ' .. k .. ' holds a ' .. t .. ', not a set')
      end
    end
  end
end

-- The counts that the new numbers' log blocks can change.
local counts
do
  local blocks = {}
  for blk = floor((seq + 1) / BLOCK), floor((seq + count) / BLOCK) do blocks[itoa(blk)] = true end
  local cerr
  counts, cerr = countsRead(blocks)
  if not counts then return redis.error_reply(cerr) end
end

-- The postings the new numbers can add to: every index the call's texts have or will
-- get (new texts are given the next ones), in the posting blocks of the sequence
-- numbers the call can give.
local postCounts
do
  local plan, idxs = {}, {}
  for _, i in pairs(folded) do
    if i > 0 then idxs[#idxs + 1] = i end
  end
  for _, i in pairs(variants) do idxs[#idxs + 1] = i end
  for i = (dictTop or 0) + 1, (dictTop or 0) + missing do idxs[#idxs + 1] = i end
  for _, i in ipairs(idxs) do
    local blocks = {}
    for pb = floor((seq + 1) / PB), floor((seq + count) / PB) do blocks[itoa(pb)] = true end
    plan[itoa(i)] = blocks
  end
  local perr
  postCounts, perr = postRead(plan)
  if not postCounts then return redis.error_reply(perr) end
end

local created = not s.v
create(s, ARGV[2])

local ts, packed = ARGV[1], {}
-- tsx is createdAt with the flag of an entry that expires (lib.lua expiryOf)
local tsx = string.char(string.byte(ts, 1) + 128) .. string.sub(ts, 2)
local function head(x)
  if x == '' then return ts end
  return tsx
end
local function pk(i) -- pack3, remembered
  local v = packed[i]
  if not v then v = pack3(i); packed[i] = v end
  return v
end

-- written lists what the numbers' writes did so far, four values a write: undo takes
-- them back, newest first. 'h' key field: HDEL; 's': SREM; 'z': ZREM; 'r' key field
-- old: HSET the old value back.
local written = {}
local function wrote(op, key, field, old)
  local j = #written
  written[j + 1], written[j + 2], written[j + 3], written[j + 4] = op, key, field, old or ''
end
local function undo(key, msg)
  for j = #written - 3, 1, -4 do
    local op, k, f = written[j], written[j + 1], written[j + 2]
    if op == 'h' then
      redis.call('HDEL', k, f)
    elseif op == 's' then
      redis.call('SREM', k, f)
    elseif op == 'z' then
      redis.call('ZREM', k, f)
    else
      redis.call('HSET', k, f, written[j + 3])
    end
  end
  if created then redis.call('DEL', META, BASE .. 'b:0') end
  if string.find(msg, '^WRONGTYPE') then msg = 'DNCCORRUPT ' .. key .. ': ' .. msg end
  return redis.error_reply(msg)
end

-- pending: new numbers whose record names a text the dictionary lacks; they are
-- written (and the texts added) once no write can fail any more, before the next split.
local pending, claimed = {}, {} -- claimed: the digits of the pending numbers
local post = {} -- the postings of the new numbers (postNote)
local function intern(text)
  local i = index[text]
  if i then return i end
  dictTop = dictTop + 1
  local s = itoa(dictTop)
  local lk = 'l' .. string.lower(text) -- the indexes of the texts equal to it but for case
  local same = redis.call('HGET', DICT, lk)
  if same then same = same .. ' ' .. s else same = s end
  redis.call('HSET', DICT, 's' .. text, s, 'i' .. s, text, lk, same)
  index[text] = dictTop
  folded[text] = tonumber(string.match(same, '^%d+'))
  return dictTop
end
local function flushPending()
  for _, q in ipairs(pending) do
    local t, b, u, x = meta(q.a)
    local ti, bi = intern(t), intern(b)
    postNote(post, folded[t], q.seq)
    postNote(post, folded[b], q.seq)
    if string.byte(u, 1) == 3 then
      local ui = intern(string.sub(u, 2))
      postNote(post, folded[string.sub(u, 2)], q.seq)
      u = '\3' .. pk(ui)
    end
    local rec = pack5(q.seq) .. head(x) .. pk(ti) .. pk(bi) .. x .. u
    redis.call('HSET', q.bkey, ARGV[q.a], rec)
  end
  pending, claimed = {}, {}
end

-- A number named twice in one call is added once, the first time: the second HSETNX
-- finds it; one still pending (its record not yet written) is claimed.
local out, slots, blk, kv, touched = {}, {}, -1, nil, {}
-- what the audit event says: how many numbers the call added or extended, the last of
-- them, and their batch id when they share one (false when they do not)
local nchanged, lastChanged, batchOf = 0, nil, nil
local expires = false -- an entry written with an expiry: the meta hash's "fx" says the org has such
local function changed(a)
  nchanged, lastChanged = nchanged + 1, ARGV[a]
  local b = ''
  if W == 5 then
    b = ARGV[a + 2]
    if ARGV[a + 4] ~= '' then expires = true end
  end
  if batchOf == nil then batchOf = b elseif batchOf ~= b then batchOf = false end
end
local newIn = {} -- directory -> the new numbers of that length
local plain = ts .. pk(0) .. pk(0) -- the record's tail when it has no metadata
for a = 4, #ARGV, W do
  local digits, new, bkey = ARGV[a], false, nil
  if not claimed[digits] then
    bkey = bucketKey(digits, L, p)
    local tail, t, b, u, l = plain, 0, 0, '', true
    if W == 5 then
      t, b, u = index[ARGV[a + 1]], index[ARGV[a + 2]], ARGV[a + 3]
      if string.byte(u, 1) == 3 then
        l = index[string.sub(u, 2)]
        if l then u = '\3' .. pk(l) end
      end
      local x = ARGV[a + 4]
      if t and b and l then tail = head(x) .. pk(t) .. pk(b) .. x .. u end
    end
    if t and b and l then
      local r = redis.pcall('HSETNX', bkey, digits, pack5(seq + 1) .. tail)
      if type(r) == 'table' then return undo(bkey, r.err) end
      if r == 1 then
        new = true
        wrote('h', bkey, digits)
        if W == 5 then
          postNote(post, folded[ARGV[a + 1]], seq + 1)
          postNote(post, folded[ARGV[a + 2]], seq + 1)
          if l ~= true then postNote(post, folded[string.sub(ARGV[a + 3], 2)], seq + 1) end
        end
      end
    else
      local r = redis.pcall('HEXISTS', bkey, digits)
      if type(r) == 'table' then return undo(bkey, r.err) end
      if r == 0 then
        new = true
        pending[#pending + 1] = {a = a, bkey = bkey, seq = seq + 1}
        claimed[digits] = true
      end
    end
  end
  if new then
    changed(a)
    seq, n = seq + 1, n + 1
    if floor(seq / BLOCK) ~= blk then
      blk = floor(seq / BLOCK)
      kv = {}
      slots[itoa(blk)] = kv
    end
    kv[#kv + 1] = itoa(seq % BLOCK)
    kv[#kv + 1] = digits
    out[#out + 1] = seq
    -- the number goes into its chunk after the loop
    local dir = odir(digits)
    local vs = newIn[dir]
    if not vs then vs = {}; newIn[dir] = vs end
    vs[#vs + 1] = tonumber(digits)
    -- its requestUUID's fingerprint
    if W == 5 and ARGV[a + 3] ~= '' then
      local fp = fpOf(ARGV[a + 3])
      if fp then
        local rk, um = rbucketKey(fp, L, p), umember(fp, seq)
        local r = redis.pcall('SADD', rk, um)
        if type(r) == 'table' then return undo(rk, r.err) end
        if r == 1 then wrote('s', rk, um) end
      end
    end
    if inline and n > LOAD * (2 ^ L + p) then
      flushPending()
      repeat split() until n <= LOAD * (2 ^ L + p)
    end
  elseif bkey then -- listed already: the entry that stays
    local rec = redis.call('HGET', bkey, digits) or ''
    if #rec >= 5 then out[#out + 1] = -unpackBE(rec, 1, 5) else out[#out + 1] = 0 end
    local old = expiryOf(rec)
    if old then -- a later expiry, or none, replaces it
      local x = ''
      if W == 5 then x = ARGV[a + 4] end
      if x == '' or unpackBE(x, 1, 4) > old then
        local nrec -- the head (without the flag when the expiry goes), the expiry, the requestUUID part
        if x == '' then
          nrec = string.sub(rec, 1, 5) .. string.char(string.byte(rec, 6) - 128) .. string.sub(rec, 7, 17) .. uuidPart(rec)
        else
          nrec = string.sub(rec, 1, 17) .. x .. uuidPart(rec)
        end
        redis.call('HSET', bkey, digits, nrec)
        wrote('r', bkey, digits, rec)
        changed(a)
      end
    end
  else
    out[#out + 1] = 0
  end
end
-- The new numbers into their chunks, a chunk at a time: sorted from the greatest down,
-- every number at or above the base of the chunk that holds the greatest is in that
-- chunk too (no base lies between them), so numbers that share a chunk (a sorted import,
-- a crowded exchange) cost one lookup and one SADD together; a directory with no chunk
-- at or below a number gets chunk 0. Still undone on a failure (before any write that
-- cannot be, as no pending record or split has been written yet).
for dir, vs in pairs(newIn) do
  table.sort(vs, function(x, y) return x > y end)
  local i = 1
  while i <= #vs do
    local base = redis.call('ZREVRANGEBYSCORE', dir, itoa(vs[i]), '-inf', 'LIMIT', 0, 1)[1]
    if not base then
      base = '0'
      if redis.call('ZADD', dir, 0, base) == 1 then wrote('z', dir, base) end
    elseif not string.find(base, '^%d+$') or #base > 15 then
      return undo(dir, 'DNCCORRUPT ' .. dir .. ' lists chunk ' .. base)
    end
    local b, members, ck = tonumber(base), {}, dir .. ':' .. base
    local look = (i < #vs and vs[i + 1] >= b) or sampled(vs[i]) -- a chunk written twice is looked at
    while i <= #vs and vs[i] >= b do
      members[#members + 1] = itoa(vs[i] - b)
      i = i + 1
    end
    for j = 1, #members, 200 do
      local part = {unpack(members, j, math.min(j + 199, #members))}
      local r = redis.pcall('SADD', ck, unpack(part))
      if type(r) == 'table' then return undo(ck, r.err) end
      -- a member that was there already (only foreign data leaves one) is not logged:
      -- which one it was is not known, so none of this command's is, and an undo leaves
      -- them (a search passes over a number whose record is gone)
      if r == #part then
        for _, m in ipairs(part) do wrote('s', ck, m) end
      end
    end
    touched[ck] = {dir, base, look}
  end
end
flushPending()
while n > LOAD * (2 ^ L + p) do split() end
for ck, t in pairs(touched) do
  if t[3] and redis.call('SCARD', ck) > OMAX then osplit(t[1], t[2]) end
end
postWrite(post, postCounts, true)

-- the log slots of the new numbers, one HSET a block, and the counts
local delta = {}
for b, slotKV in pairs(slots) do
  hsetMany(logKey(b), slotKV)
  delta[b] = #slotKV / 2
end
if dictTop then
  redis.call('HSET', META, 'v', VERSION, 'L', itoa(L), 'p', itoa(p), 'n', itoa(n), 'seq', itoa(seq), 'dict', itoa(dictTop))
else
  redis.call('HSET', META, 'v', VERSION, 'L', itoa(L), 'p', itoa(p), 'n', itoa(n), 'seq', itoa(seq))
end
countsWrite(counts, delta)
if expires then redis.call('HSET', META, 'fx', '1') end
if nchanged > 0 then audit(auditNumbers(nchanged, lastChanged, batchOf or '', 'add')) end
return out
