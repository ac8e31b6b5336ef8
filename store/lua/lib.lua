-- lib.lua: what every script of the layout shares (store.go puts it in front of each,
-- and of lib_counts.lua and lib_index.lua when a script needs them).
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

-- An entry that expires has the top bit of its record's 6th byte (the first of its
-- createdAt) set, and its expiry, Unix seconds in 4 bytes, after the 17-byte head
-- (record.go). expiryOf returns that expiry, or nil; uuidPart the requestUUID part,
-- which follows the head and the expiry.
local function expiryOf(rec)
  if #rec >= 21 and string.byte(rec, 6) >= 128 then return unpackBE(rec, 18, 21) end
  return nil
end

local function uuidPart(rec)
  if #rec >= 21 and string.byte(rec, 6) >= 128 then return string.sub(rec, 22) end
  return string.sub(rec, 18)
end

-- serverTime returns the Redis server's clock, in Unix seconds (with a fraction):
-- the clock that decides whether an entry has expired.
local function serverTime()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1e6
end

-- seqOf returns the sequence number at the head of a record (at least 5 bytes).
local function seqOf(rec)
  local a, b, c, d, e = string.byte(rec, 1, 5)
  return (((a * 256 + b) * 256 + c) * 256 + d) * 256 + e
end

-- state reads the org's meta hash. An org whose data is of another layout version (or
-- of version 1, which had no meta hash and kept "<base>entries") is refused.
local function state()
  local m = redis.call('HMGET', META, 'v', 'enabled', 'L', 'p', 'n', 'seq', 'epoch', 'rv')
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
    n = tonumber(m[5] or 0), seq = tonumber(m[6] or 0), epoch = m[7], rv = tonumber(m[8] or 0)}
end

-- stamp is what every bucket keeps in its "~e" field: the org's switch ("1", "0", or
-- "-" for the default), the version of its rules ("r" and the meta hash's "rv", when it
-- has had rules) and the epoch of its data, so that a check reads them with the number,
-- in one HMGET of one bucket, and matches the number against the rules of that version,
-- which it keeps (rules.go).
local function stamp(enabled, epoch, rv)
  if rv and rv > 0 then return (enabled or '-') .. 'r' .. itoa(rv) .. ':' .. epoch end
  return (enabled or '-') .. ':' .. epoch
end

-- create makes the org's meta hash and its first bucket when the org has none, with the
-- given epoch (random, from the client): the marker of this generation of its data.
local function create(s, epoch)
  if s.v then return end
  redis.call('HSET', META, 'v', VERSION, 'epoch', epoch)
  redis.call('HSET', BASE .. 'b:0', '~d', 0, '~e', stamp(s.enabled, epoch, s.rv))
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

-- sortUp sorts the numbers of v ascending, unless they are already: an intset's members
-- come so, and checking costs a fraction of sorting.
local function sortUp(v)
  for j = 2, #v do
    if v[j - 1] > v[j] then
      table.sort(v)
      return
    end
  end
end

-- numbersOf returns the numbers of the set at key, ascending: how many, and a function
-- giving the i-th. An intset sends its members in order (OBJECT ENCODING says which
-- sets are intsets), so only the ones asked for are read as numbers; any other set's
-- (miniredis', or one grown past an intset by foreign data) are read and sorted here.
local function numbersOf(key)
  local ms = redis.call('SMEMBERS', key)
  if redis.pcall('OBJECT', 'ENCODING', key) == 'intset' then
    return #ms, function(i) return tonumber(ms[i]) end
  end
  local v = {}
  for _, m in ipairs(ms) do
    local x = tonumber(m)
    if x then v[#v + 1] = x end
  end
  sortUp(v)
  return #v, function(i) return v[i] end
end

-- lowerBound returns the first i in 1..n whose at(i) >= x, or n + 1.
local function lowerBound(n, at, x)
  local lo, hi = 1, n + 1
  while lo < hi do
    local mid = floor((lo + hi) / 2)
    if at(mid) < x then lo = mid + 1 else hi = mid end
  end
  return lo
end

-- dictOf appends to out, once each (seen), the dictionary index and text pairs that a
-- record names. A record too short to name any names none.
local function dictOf(rec, out, seen)
  if #rec < 17 then return end
  local idx, u = {unpackBE(rec, 12, 14), unpackBE(rec, 15, 17)}, uuidPart(rec)
  if #u == 4 and string.byte(u, 1) == 3 then idx[3] = unpackBE(u, 2, 4) end
  for _, i in ipairs(idx) do
    if i > 0 and not seen[i] then
      seen[i] = true
      out[#out + 1] = i
      out[#out + 1] = redis.call('HGET', DICT, 'i' .. i)
    end
  end
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

-- putCounts writes the counts in vals of the fields of key that changed: one HSET of
-- those that are not 0, one HDEL of those that are.
local function putCounts(key, vals, changed)
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
