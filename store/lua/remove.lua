-- remove.lua: unlist numbers, dropping their records, log slots and counts together.
-- KEYS    meta, f, d (lib.lua)
-- ARGV[i], ARGV[i+1] for i = 1, 3, ...: a number's E.164 digits without "+", and ""
--         (remove it whatever its entry) or a sequence number (remove it only if its
--         entry has that sequence number: delete by id), or "x" (remove it only if its
--         entry has expired by the server's clock: purge)
-- and the audit log's four (lib_audit.lua): one event when the call removed any.
-- Reply: how many numbers were removed.
-- It reads everything it needs (records, log slots, counts, the search indexes' keys)
-- before its first write, so a key of another type or a count that is not a number
-- fails it with nothing written.
local s, err = state()
if not s then return redis.error_reply(err) end
local aerr = auditReady()
if aerr then return redis.error_reply(aerr) end
local now = nil -- the server's clock, read when a number is to go only if expired
-- consider notes a number found with its record: delKey/delField list the bucket
-- fields to delete (the fields of a bucket read together next to each other);
-- gone[block] their log slots.
-- post, fps and chunks: what goes from the search indexes (lib.lua).
local removed, delKey, delField, gone, blk, bs = 0, {}, {}, {}, -1, nil
local post, fps, chunks = {}, {}, {}
local lastRemoved = nil
local function consider(bkey, digits, want, rec)
  if not rec then return end
  local seq = nil
  if #rec >= 5 then seq = seqOf(rec) end
  if want == 'x' then
    local x = expiryOf(rec)
    now = now or serverTime()
    if not x or x > now then return end
  elseif want ~= '' and tonumber(want) ~= seq then
    return
  end
  lastRemoved = digits
  delKey[#delKey + 1] = bkey
  delField[#delField + 1] = digits
  removed = removed + 1
  local dir = odir(digits)
  local base = redis.call('ZREVRANGEBYSCORE', dir, digits, '-inf', 'LIMIT', 0, 1)[1]
  if base then
    local ck = dir .. ':' .. base
    local c = chunks[ck]
    if not c then c = {dir = dir, base = base, look = sampled(digits)}; chunks[ck] = c else c.look = true end
    c[#c + 1] = itoa(tonumber(digits) - tonumber(base))
  end
  if seq then
    if floor(seq / BLOCK) ~= blk then
      blk = floor(seq / BLOCK)
      bs = itoa(blk)
    end
    local g = gone[bs]
    if not g then g = {offs = {}, digits = {}, recs = {}, seqs = {}}; gone[bs] = g end
    g.offs[#g.offs + 1] = itoa(seq % BLOCK)
    g.digits[#g.digits + 1] = digits
    g.recs[#g.recs + 1] = rec
    g.seqs[#g.seqs + 1] = seq
  end
end
-- While the table has fewer buckets than the call has numbers, numbers that share a
-- bucket are read with one HMGET (grouped without a table each: head[bkey] is the first
-- number's place in ARGV, nxt[a] the next one's in the same bucket); otherwise they
-- seldom do, and each is read with its own HGET. A number named twice is removed once.
local seen = {}
if 2 ^ s.L + s.p < #ARGV / 2 then
  local head, nxt, last, order = {}, {}, {}, {}
  for a = 1, #ARGV, 2 do
    local digits = ARGV[a]
    if not seen[digits] then
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
  for _, bkey in ipairs(order) do
    local fields, at, a = {}, {}, head[bkey]
    while a do
      fields[#fields + 1] = ARGV[a]
      at[#at + 1] = a
      a = nxt[a]
    end
    local recs = hmgetMany(bkey, fields)
    for j = 1, #fields do consider(bkey, fields[j], ARGV[at[j] + 1], recs[j]) end
  end
else
  for a = 1, #ARGV, 2 do
    local digits = ARGV[a]
    if not seen[digits] then
      seen[digits] = true
      local bkey = bucketKey(digits, s.L, s.p)
      consider(bkey, digits, ARGV[a + 1], redis.call('HGET', bkey, digits))
    end
  end
end
-- A log slot goes only if it names the number (foreign data may say otherwise), and with
-- it the entry's postings and requestUUID fingerprint (a record that names another
-- number's slot must not take that entry out of the indexes); the count n follows the
-- slots, as the counts do.
local slots, delta, blocks, any, folds = {}, {}, {}, false, {}
for blk, g in pairs(gone) do
  local named = hmgetMany(logKey(blk), g.offs)
  local offs = {}
  for j, d in ipairs(g.offs) do
    if named[j] == g.digits[j] then
      offs[#offs + 1] = d
      local rec, seq = g.recs[j], g.seqs[j]
      local ti, bi, ui = recIndexes(rec)
      postNote(post, foldOf(ti, folds), seq)
      postNote(post, foldOf(bi, folds), seq)
      postNote(post, foldOf(ui, folds), seq)
      local fp = nil
      local u = uuidPart(rec)
      if #u > 0 then fp = fpOf(u) end
      if fp then fps[#fps + 1] = {rbucketKey(fp, s.L, s.p), umember(fp, seq)} end
    end
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
local postCounts, perr = postRead(post)
if not postCounts then return redis.error_reply(perr) end
-- The index sets go first, each with redis.pcall: a key of another type stops the
-- script with the members removed so far put back, and nothing else written.
local taken = {}
local function putBack(key, msg)
  for j = #taken - 1, 1, -2 do redis.call('SADD', taken[j], taken[j + 1]) end
  return redis.error_reply('DNCCORRUPT ' .. key .. ': ' .. msg)
end
for ck, c in pairs(chunks) do
  for _, m in ipairs(c) do
    local r = redis.pcall('SREM', ck, m)
    if type(r) == 'table' then return putBack(ck, r.err) end
    if r == 1 then taken[#taken + 1] = ck; taken[#taken + 1] = m end
  end
end
for _, f in ipairs(fps) do
  local r = redis.pcall('SREM', f[1], f[2])
  if type(r) == 'table' then return putBack(f[1], r.err) end
  if r == 1 then taken[#taken + 1] = f[1]; taken[#taken + 1] = f[2] end
end
-- the writes: the fields of a bucket read together in one HDEL (at most 200 a command)
local i = 1
while i <= #delKey do
  local j = i
  while j < #delKey and j - i < 199 and delKey[j + 1] == delKey[i] do j = j + 1 end
  redis.call('HDEL', delKey[i], unpack(delField, i, j))
  i = j + 1
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
-- a chunk found empty leaves its directory (chunk 0 stays while others do); sampled as
-- adds are, so an emptied chunk may stay listed, empty, until a later write finds it
for ck, c in pairs(chunks) do
  if c.look and redis.call('EXISTS', ck) == 0 then
    if c.base ~= '0' then
      redis.call('ZREM', c.dir, c.base)
    elseif redis.call('ZCARD', c.dir) == 1 then
      redis.call('DEL', c.dir)
    end
  end
end
postWrite(post, postCounts, false)
if removed > 0 then audit(auditNumbers(removed, lastRemoved, nil, 'remove')) end
return removed
