-- lib.lua: what every script of the layout shares (store.go puts it in front of each).
-- Every script takes the same KEYS, in this order:
-- KEYS[1] <base>meta   hash  v, epoch, enabled, tg, L, p, n, seq, dict (keys.go)
-- KEYS[2] <base>f      hash  Fenwick tree of live entries per group of GROUP log blocks
-- KEYS[3] <base>d      hash  dictionary: "s<text>" -> index, "i<index>" -> text
-- and derives from <base> (KEYS[1] without "meta") the keys that depend on the data:
-- buckets <base>b:<i>, log blocks <base>l:<j>, block groups <base>g:<k> and the search
-- indexes (below), all under the same hash tag.
local META, FEN, DICT = KEYS[1], KEYS[2], KEYS[3]
local BASE = string.sub(META, 1, -5)
local VERSION = '3'
local BLOCK = 128          -- sequence numbers per log block: a block stays a listpack
local GROUP = 128          -- log blocks per Fenwick leaf (16,384 sequence numbers)
local MAXG = 4194304       -- 2^22 groups: 2^36 sequence numbers
local LOAD = 16            -- mean entries per bucket that makes the table grow
local P, HA, HB = 2147483647, 386342957, 50331653

local floor = math.floor

-- itoa spells a whole number x >= 0 in decimal, as tostring does for one below 10^14,
-- in a fraction of its time: tostring, and redis.call's own conversion of a number
-- argument, go through sprintf, which costs about 2 µs; the keys and fields a write
-- names for each number are spelled here instead, two digits at a time.
local D2 = {[0] =
  '00', '01', '02', '03', '04', '05', '06', '07', '08', '09', '10', '11', '12', '13', '14', '15', '16', '17', '18', '19',
  '20', '21', '22', '23', '24', '25', '26', '27', '28', '29', '30', '31', '32', '33', '34', '35', '36', '37', '38', '39',
  '40', '41', '42', '43', '44', '45', '46', '47', '48', '49', '50', '51', '52', '53', '54', '55', '56', '57', '58', '59',
  '60', '61', '62', '63', '64', '65', '66', '67', '68', '69', '70', '71', '72', '73', '74', '75', '76', '77', '78', '79',
  '80', '81', '82', '83', '84', '85', '86', '87', '88', '89', '90', '91', '92', '93', '94', '95', '96', '97', '98', '99'}
local D1 = {[0] = '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'}
local function itoa(x)
  if x < 10 then return D1[x] end
  if x < 100 then return D2[x] end
  if x < 10000 then
    local a = floor(x / 100)
    return itoa(a) .. D2[x - a * 100]
  end
  local a = floor(x / 10000)
  local r = x - a * 10000
  local b = floor(r / 100)
  return itoa(a) .. D2[b] .. D2[r - b * 100]
end

-- hash of a number's digits, in [0, P): exact in Lua's doubles (every product < 2^53).
local function hash(digits)
  local n = tonumber(digits)
  local hi = floor(n / 100000000)
  local lo = n - hi * 100000000
  return (hi * HA % P + lo * HB % P) % P
end

-- the bucket of a number in a linear hash table of level L and split pointer p.
local BUCKET = BASE .. 'b:'
local function bucketKey(digits, L, p)
  local h, m = hash(digits), 2 ^ L
  local b = h % m
  if b < p then b = h % (2 * m) end
  return BUCKET .. itoa(b)
end

local LOG = BASE .. 'l:'
local function logKey(blk)
  if type(blk) == 'number' then blk = itoa(blk) end
  return LOG .. blk
end

-- pack3 and pack5 write n as 3 or 5 big-endian bytes.
local function pack3(n)
  local a = math.floor(n / 65536)
  local b = math.floor(n / 256) % 256
  return string.char(a, b, n % 256)
end

local function pack5(n)
  local a = floor(n / 4294967296)
  local b = n - a * 4294967296
  return string.char(a, floor(b / 16777216), floor(b / 65536) % 256, floor(b / 256) % 256, b % 256)
end

local function unpackBE(s, i, j)
  local v = 0
  for _, c in ipairs({string.byte(s, i, j)}) do v = v * 256 + c end
  return v
end

-- seqOf returns the sequence number at the head of a record (at least 5 bytes).
local function seqOf(rec)
  local a, b, c, d, e = string.byte(rec, 1, 5)
  return (((a * 256 + b) * 256 + c) * 256 + d) * 256 + e
end

-- state reads the org's meta hash. An org whose data is of another layout version (or
-- of version 1, which had no meta hash and kept "<base>entries") is refused.
local function state()
  local m = redis.call('HMGET', META, 'v', 'enabled', 'L', 'p', 'n', 'seq', 'epoch')
  if not m[1] then
    if redis.call('EXISTS', BASE .. 'entries') == 1 then
      return nil, 'DNCSCHEMA the org holds data of layout version 1 (' .. BASE .. 'entries); this code reads version ' .. VERSION
    end
    if redis.call('EXISTS', BASE .. 'b:0', FEN) > 0 then
      return nil, 'DNCCORRUPT the org has buckets but no meta hash (' .. META .. '): evicted or deleted'
    end
  elseif m[1] ~= VERSION then
    return nil, 'DNCSCHEMA the org holds data of layout version ' .. m[1] .. '; this code reads version ' .. VERSION
  end
  return {v = m[1], enabled = m[2], L = tonumber(m[3] or 0), p = tonumber(m[4] or 0),
    n = tonumber(m[5] or 0), seq = tonumber(m[6] or 0), epoch = m[7]}
end

-- stamp is what every bucket keeps in its "~e" field: the org's switch ("1", "0", or
-- "-" for the default) and the epoch of its data, so that a check reads both with the
-- number, in one HMGET of one bucket.
local function stamp(enabled, epoch) return (enabled or '-') .. ':' .. epoch end

-- create makes the org's meta hash and its first bucket when the org has none, with the
-- given epoch (random, from the client): the marker of this generation of its data.
local function create(s, epoch)
  if s.v then return end
  redis.call('HSET', META, 'v', VERSION, 'epoch', epoch)
  redis.call('HSET', BASE .. 'b:0', '~d', 0, '~e', stamp(s.enabled, epoch))
  s.v, s.epoch = VERSION, epoch
end

-- switch returns "0" when DNC is off for the org: its own setting, else the default.
local function switch(s, default)
  if s.enabled then return s.enabled end
  return default
end

-- hsetMany and hdelMany write a hash's fields in commands of at most 200 fields, so
-- that unpack stays far below Lua's limit (about 8,000 values) whatever the size.
local function hsetMany(key, kv)
  for i = 1, #kv, 400 do
    redis.call('HSET', key, unpack(kv, i, math.min(i + 399, #kv)))
  end
end

local function hdelMany(key, fields)
  for i = 1, #fields, 200 do
    redis.call('HDEL', key, unpack(fields, i, math.min(i + 199, #fields)))
  end
end

-- homeExists reports whether the bucket key is there with its depth: a bucket of an
-- org that has a meta hash always is, so a missing one was evicted or deleted, and a
-- check must not read it as "not listed".
local function homeExists(bkey)
  return redis.call('HEXISTS', bkey, '~d') == 1
end

-- dictOf appends to out, once each (seen), the dictionary index and text pairs that a
-- record names. A record too short to name any names none.
local function dictOf(rec, out, seen)
  if #rec < 17 then return end
  local idx = {unpackBE(rec, 12, 14), unpackBE(rec, 15, 17)}
  if #rec == 21 and string.byte(rec, 18) == 3 then idx[3] = unpackBE(rec, 19, 21) end
  for _, i in ipairs(idx) do
    if i > 0 and not seen[i] then
      seen[i] = true
      out[#out + 1] = i
      out[#out + 1] = redis.call('HGET', DICT, 'i' .. i)
    end
  end
end

-- Counts of live entries: each log block's in its group's hash <base>g:<group> (block
-- offset in the group -> count), each group's in the Fenwick hash: its total in field
-- "t<group>" and the tree's nodes (numeric fields, the groups are its leaves). A write
-- reads every count it will change (countsRead) before its first write, so a count that
-- is not a number stops it with nothing written, and then writes each changed field
-- once (countsWrite): one HMGET and one HSET a hash, not one HINCRBY a field. Tables are
-- keyed by strings: a Lua table keyed by large integers may grow an array part that large.

-- fenPath returns the Fenwick fields of group g: the tree's nodes from its leaf up
-- (plain arithmetic: no bit library needed).
local POW2 = {'1', '2', '4', '8', '16', '32', '64', '128', '256', '512', '1024', '2048', '4096', '8192', '16384', '32768', '65536', '131072', '262144', '524288', '1048576', '2097152', '4194304'} -- POW2[e + 1] is 2^e as text
local function fenPath(g)
  local path, i, b, e = {}, g + 1, 1, 0
  while i % (2 * b) == 0 do b, e = 2 * b, e + 1 end
  while i <= MAXG do
    if i == b then path[#path + 1] = POW2[e + 1] else path[#path + 1] = itoa(i) end
    i = i + b
    while i % (2 * b) == 0 do b, e = 2 * b, e + 1 end -- b, the lowest bit of i, only grows
  end
  return path
end

-- hmgetMany reads fields of key in commands of at most 200 fields.
local function hmgetMany(key, fields)
  local out = {}
  for i = 1, #fields, 200 do
    local v = redis.call('HMGET', key, unpack(fields, i, math.min(i + 199, #fields)))
    for j = 1, #v do out[i + j - 1] = v[j] end
  end
  return out
end

-- spellCount spells a count for a write: itoa, or tostring for the negative counts only
-- foreign data can cause.
local function spellCount(x)
  if x >= 0 then return itoa(x) end
  return tostring(x)
end

-- countsRead reads the counts of the given log blocks (a set of block numbers as
-- strings) and of their groups, or returns nil and an error when one is not an integer.
local function countsRead(blocks)
  local c = {groups = {}, fen = {}}
  local fields, seen = {}, {}
  for blk in pairs(blocks) do
    local b = tonumber(blk)
    local g = itoa(floor(b / GROUP))
    local grp = c.groups[g]
    if not grp then
      grp = {offs = {}, val = {}, new = {}, path = fenPath(tonumber(g))}
      c.groups[g] = grp
      for _, f in ipairs(grp.path) do
        if not seen[f] then seen[f] = true; fields[#fields + 1] = f end
      end
      fields[#fields + 1] = 't' .. g
    end
    grp.offs[#grp.offs + 1] = itoa(b % GROUP)
  end
  local function num(v, where)
    local x = tonumber(v or '0')
    if not x or x ~= floor(x) then return nil, 'DNCCORRUPT ' .. where .. ' holds ' .. tostring(v) .. ', not a count' end
    return x
  end
  for g, grp in pairs(c.groups) do
    local v = hmgetMany(BASE .. 'g:' .. g, grp.offs)
    for j, o in ipairs(grp.offs) do
      local x, err = num(v[j], BASE .. 'g:' .. g .. ' field ' .. o)
      if not x then return nil, err end
      grp.val[o] = x
    end
  end
  if #fields > 0 then
    local v = hmgetMany(FEN, fields)
    for j, f in ipairs(fields) do
      local x, err = num(v[j], FEN .. ' field ' .. f)
      if not x then return nil, err end
      c.fen[f] = x
    end
  end
  return c
end

-- countsWrite adds delta[blk] to the live count of each log block blk (all of them read
-- by countsRead into c), to its group's total and to the Fenwick tree; a count that
-- reaches 0 is deleted.
local function countsWrite(c, delta)
  local sums, nodes = {}, {}
  for blk, d in pairs(delta) do
    if d ~= 0 then
      local b = tonumber(blk)
      local g, o = itoa(floor(b / GROUP)), itoa(b % GROUP)
      local grp = c.groups[g]
      grp.val[o] = grp.val[o] + d
      grp.new[o] = true
      sums[g] = (sums[g] or 0) + d
    end
  end
  local function put(key, vals, changed)
    local set, del = {}, {}
    for f in pairs(changed) do
      if vals[f] == 0 then
        del[#del + 1] = f
      else
        set[#set + 1] = f
        set[#set + 1] = spellCount(vals[f])
      end
    end
    if #set > 0 then hsetMany(key, set) end
    if #del > 0 then hdelMany(key, del) end
  end
  for g, grp in pairs(c.groups) do put(BASE .. 'g:' .. g, grp.val, grp.new) end
  for g, d in pairs(sums) do
    if d ~= 0 then
      local t = 't' .. g
      nodes[t] = (nodes[t] or 0) + d
      for _, k in ipairs(c.groups[g].path) do nodes[k] = (nodes[k] or 0) + d end
    end
  end
  local changed = {}
  for f, d in pairs(nodes) do
    if d ~= 0 then
      c.fen[f] = c.fen[f] + d
      changed[f] = true
    end
  end
  put(FEN, c.fen, changed)
end

-- assigned returns how many sequence numbers in [lo, hi] have been given out when the
-- last one given is seq (sequence numbers start at 1): the live entries there, if none
-- was removed.
local function assigned(lo, hi, seq)
  return math.max(0, math.min(seq, hi) - math.max(1, lo) + 1)
end

-- locate returns the log block holding the rank-th oldest live entry (1 <= rank <= the
-- count) and its place among that block's live entries: down the Fenwick tree to the
-- group (one HGET a level, as many levels as the org has groups in binary), then one
-- HGETALL of the group's block counts. seq is the org's last sequence number.
local function locate(rank, seq)
  local groups = math.floor(seq / (BLOCK * GROUP)) + 1
  local step = 1
  while step * 2 <= groups do step = step * 2 end
  local pos, k = 0, rank
  while step >= 1 do
    if pos + step <= groups then
      local c = tonumber(redis.call('HGET', FEN, pos + step) or '0')
      if c < k then pos, k = pos + step, k - c end
    end
    step = step / 2
  end
  -- A group from which nothing was removed holds its sequence numbers without holes:
  -- the k-th live entry is found by arithmetic.
  local lo = pos * GROUP * BLOCK
  local live = tonumber(redis.call('HGET', FEN, 't' .. pos) or '0')
  if live == assigned(lo, lo + GROUP * BLOCK - 1, seq) then
    local s = math.max(1, lo) + k - 1
    local blk = math.floor(s / BLOCK)
    return blk, s - math.max(1, blk * BLOCK) + 1
  end
  local kv = redis.call('HGETALL', BASE .. 'g:' .. pos)
  local offs, count = {}, {}
  for j = 1, #kv, 2 do
    local o = tonumber(kv[j])
    offs[#offs + 1] = o
    count[o] = tonumber(kv[j + 1])
  end
  table.sort(offs)
  for _, o in ipairs(offs) do
    if count[o] >= k then return pos * GROUP + o, k end
    k = k - count[o]
  end
  return nil, 'DNCCORRUPT the count of block group ' .. pos .. ' exceeds its blocks'
end

-- script body --

-- The search indexes (keys.go) ----------------------------------------------------
-- Postings: the live entries that name dictionary index i (as type, batchId or long
-- requestUUID), by sequence number in blocks of PB: <base>x:<i>:<pb> is the set of
-- seq - pb * PB (an intset: 2 bytes a member), and <base>xc:<i> counts them: "t" all,
-- "s<sb>" those of superblock sb (SB blocks), "<pb>" those of block pb.
-- RequestUUIDs: <base>r:<b>, bucket b of a linear hash table of a quarter as many
-- buckets as the numbers' (rshape), over a 26-bit fingerprint of the requestUUID (fpOf):
-- the set of fingerprint * 10^11 + seq of the entries whose requestUUID has it (an
-- intset of about 64 members, 8 bytes each).
-- Numbers: for the numbers of len digits, <base>o:<len> is a sorted set of chunk bases
-- (member and score alike), and <base>o:<len>:<base> the set of number - base of the
-- numbers from base up to the next chunk's base (an intset). Chunk "0" is always there.
local PB, SB = 512, 128
local P26 = 67108859 -- the largest prime below 2^26
local OMAX = 384 -- a chunk splits when it holds more, found out in time (sampled, below)

-- sampled says whether a write to a number's chunk reads the chunk's size: one write in
-- four, chosen by the number's hash (not by its digits, which a range of numbers may
-- share a pattern in), and every chunk a script writes twice. A chunk then passes OMAX
-- by 128 (and stops being an intset) only after 128 unsampled writes in a row: one
-- chance in 10^16.
local function sampled(digits) return hash(digits) % 4 == 0 end

local function postKey(i, pb) return BASE .. 'x:' .. i .. ':' .. pb end
local function postCountKey(i) return BASE .. 'xc:' .. i end

-- postNote notes in post that the entry with sequence number seq names index i.
local function postNote(post, i, seq)
  if i == 0 then return end
  local is = itoa(i)
  local blocks = post[is]
  if not blocks then blocks = {}; post[is] = blocks end
  local pb = floor(seq / PB)
  local ps = itoa(pb)
  local offs = blocks[ps]
  if not offs then offs = {}; blocks[ps] = offs end
  offs[#offs + 1] = itoa(seq - pb * PB)
end

-- recIndexes returns the dictionary indexes a record names (type, batchId, long
-- requestUUID; 0 for none).
local function recIndexes(rec)
  if #rec < 17 then return 0, 0, 0 end
  local u = 0
  if #rec == 21 and string.byte(rec, 18) == 3 then u = unpackBE(rec, 19, 21) end
  return unpackBE(rec, 12, 14), unpackBE(rec, 15, 17), u
end

-- postRead type-checks the posting keys that plan names ({[index] = {[block] = true}})
-- and reads their counts, or returns nil and an error, before a script's first write.
local function postRead(plan)
  local c = {}
  for is, blocks in pairs(plan) do
    local ck = postCountKey(is)
    local t = redis.call('TYPE', ck).ok
    if t ~= 'hash' and t ~= 'none' then return nil, 'DNCCORRUPT ' .. ck .. ' holds a ' .. t .. ', not a hash' end
    local fields, seen = {'t'}, {}
    for ps in pairs(blocks) do
      local k = postKey(is, ps)
      t = redis.call('TYPE', k).ok
      if t ~= 'set' and t ~= 'none' then return nil, 'DNCCORRUPT ' .. k .. ' holds a ' .. t .. ', not a set' end
      local sb = 's' .. itoa(floor(tonumber(ps) / SB))
      if not seen[sb] then seen[sb] = true; fields[#fields + 1] = sb end
      fields[#fields + 1] = ps
    end
    local v = hmgetMany(ck, fields)
    local vals = {}
    for j, f in ipairs(fields) do
      local x = tonumber(v[j] or '0')
      if not x or x ~= floor(x) then return nil, 'DNCCORRUPT ' .. ck .. ' field ' .. f .. ' holds ' .. tostring(v[j]) .. ', not a count' end
      vals[f] = x
    end
    c[is] = vals
  end
  return c
end

-- postWrite adds (add true) or removes the postings noted in post, whose keys postRead
-- read into counts, and writes the counts that change; a count that reaches 0 goes.
local function postWrite(post, counts, add)
  local cmd = 'SREM'
  if add then cmd = 'SADD' end
  for is, blocks in pairs(post) do
    local vals, changed = counts[is], {}
    for ps, offs in pairs(blocks) do
      local c = 0
      for j = 1, #offs, 200 do
        c = c + redis.call(cmd, postKey(is, ps), unpack(offs, j, math.min(j + 199, #offs)))
      end
      if not add then c = -c end
      if c ~= 0 then
        local sb = 's' .. itoa(floor(tonumber(ps) / SB))
        vals[ps], vals[sb], vals.t = vals[ps] + c, vals[sb] + c, vals.t + c
        changed[ps], changed[sb], changed.t = true, true, true
      end
    end
    local set, del = {}, {}
    for f in pairs(changed) do
      if vals[f] <= 0 then
        del[#del + 1] = f
      else
        set[#set + 1] = f
        set[#set + 1] = spellCount(vals[f])
      end
    end
    if #set > 0 then hsetMany(postCountKey(is), set) end
    if #del > 0 then hdelMany(postCountKey(is), del) end
  end
end

-- fpOf returns the fingerprint of a record's requestUUID part (record.go): of its 16
-- bytes for a UUID, of its text in lower case for other short text; nil for none or
-- for long text (indexed by the postings of its dictionary index instead).
local function fpOf(u)
  local kind, x = string.byte(u, 1), nil
  if kind == 1 or kind == 2 then
    x = string.sub(u, 2)
  elseif kind == 0 then
    x = string.lower(string.sub(u, 2))
  else
    return nil
  end
  local h, bytes = 0, {string.byte(x, 1, -1)}
  for j = 1, #bytes do h = (h * 256 + bytes[j]) % P26 end
  return h
end

-- rshape returns the level and split pointer of the requestUUID table when the number
-- buckets' are L and p: a quarter of the table, so that it splits one bucket for every
-- fourth split of the numbers'.
local function rshape(L, p)
  if L < 2 then return 0, 0 end
  return L - 2, floor(p / 4)
end

local RBUCKET = BASE .. 'r:'
local function rbucket(fp, L, p)
  local rl, rp = rshape(L, p)
  local m = 2 ^ rl
  local b = fp % m
  if b < rp then b = fp % (2 * m) end
  return b
end
local function rbucketKey(fp, L, p) return RBUCKET .. itoa(rbucket(fp, L, p)) end

-- umember is the requestUUID set's member of fingerprint fp and sequence number seq;
-- uparse splits one (nil for a member the store did not write).
local PAD11 = {[0] = '', '0', '00', '000', '0000', '00000', '000000', '0000000', '00000000', '000000000', '0000000000'}
local function umember(fp, seq)
  if fp == 0 then return itoa(seq) end
  local s = itoa(seq)
  return itoa(fp) .. PAD11[11 - #s] .. s
end
local function uparse(m)
  if not string.find(m, '^%d+$') then return nil end
  if #m <= 11 then return 0, tonumber(m) end
  return tonumber(string.sub(m, 1, -12)), tonumber(string.sub(m, -11))
end

local function odir(digits) return BASE .. 'o:' .. #digits end

-- osplit splits chunk base of dir in two when it holds more than OMAX numbers: the
-- upper half moves to a new chunk whose base is its lowest number. A chunk whose new
-- key is taken (foreign data) stays as it is.
local function osplit(dir, base)
  local ck = dir .. ':' .. base
  local ms = redis.call('SMEMBERS', ck)
  if #ms <= OMAX then return end
  local v = {}
  for j, m in ipairs(ms) do v[j] = tonumber(m) end
  table.sort(v)
  local h = floor(#v / 2) + 1
  local mid = v[h]
  local nb = itoa(tonumber(base) + mid)
  local nk = dir .. ':' .. nb
  if redis.call('EXISTS', nk) == 1 then return end
  local add, del = {}, {}
  for j = h, #v do
    add[#add + 1] = itoa(v[j] - mid)
    del[#del + 1] = itoa(v[j])
  end
  for j = 1, #add, 200 do
    redis.call('SADD', nk, unpack(add, j, math.min(j + 199, #add)))
    redis.call('SREM', ck, unpack(del, j, math.min(j + 199, #del)))
  end
  redis.call('ZADD', dir, nb, nb)
end
