-- lib.lua: what every script of the layout shares (store.go puts it in front of each).
-- Every script takes the same KEYS, in this order:
-- KEYS[1] <base>meta   hash  v, epoch, enabled, tg, L, p, n, seq, dict (keys.go)
-- KEYS[2] <base>f      hash  Fenwick tree of live entries per group of GROUP log blocks
-- KEYS[3] <base>d      hash  dictionary: "s<text>" -> index, "i<index>" -> text
-- and derives from <base> (KEYS[1] without "meta") the keys that depend on the data:
-- buckets <base>b:<i>, log blocks <base>l:<j> and block groups <base>g:<k>, all under
-- the same hash tag.
local META, FEN, DICT = KEYS[1], KEYS[2], KEYS[3]
local BASE = string.sub(META, 1, -5)
local VERSION = '2'
local BLOCK = 128          -- sequence numbers per log block: a block stays a listpack
local GROUP = 128          -- log blocks per Fenwick leaf (16,384 sequence numbers)
local MAXG = 4194304       -- 2^22 groups: 2^36 sequence numbers
local LOAD = 16            -- mean entries per bucket that makes the table grow
local P, HA, HB = 2147483647, 386342957, 50331653

-- hash of a number's digits, in [0, P): exact in Lua's doubles (every product < 2^53).
local function hash(digits)
  local n = tonumber(digits)
  local hi = math.floor(n / 100000000)
  local lo = n - hi * 100000000
  return (hi * HA % P + lo * HB % P) % P
end

-- the bucket of a number in a linear hash table of level L and split pointer p.
local function bucketKey(digits, L, p)
  local h, m = hash(digits), 2 ^ L
  local b = h % m
  if b < p then b = h % (2 * m) end
  return BASE .. 'b:' .. b
end

local function logKey(blk) return BASE .. 'l:' .. blk end

-- pack3 and pack5 write n as 3 or 5 big-endian bytes.
local function pack3(n)
  local a = math.floor(n / 65536)
  local b = math.floor(n / 256) % 256
  return string.char(a, b, n % 256)
end

local function pack5(n)
  local hi = math.floor(n / 16777216)
  local lo = n - hi * 16777216
  return string.char(math.floor(hi / 256), hi % 256) .. pack3(lo)
end

local function unpackBE(s, i, j)
  local v = 0
  for k = i, j do v = v * 256 + string.byte(s, k) end
  return v
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

-- lowbit returns the lowest set bit of i > 0 (plain arithmetic: no bit library needed).
local function lowbit(i)
  local b = 1
  while i % (2 * b) == 0 do b = 2 * b end
  return b
end

-- fenwick adds delta[g] to the live count of each group g of log blocks (the tree's
-- leaves). Tables are keyed by strings: a Lua table keyed by large integers may grow
-- an array part that large.
local function fenwick(delta)
  local nodes = {}
  for g, d in pairs(delta) do
    if d ~= 0 then
      local i = tonumber(g) + 1
      while i <= MAXG do
        local k = tostring(i)
        nodes[k] = (nodes[k] or 0) + d
        i = i + lowbit(i)
      end
    end
  end
  for i, d in pairs(nodes) do
    if d ~= 0 and redis.call('HINCRBY', FEN, i, d) == 0 then redis.call('HDEL', FEN, i) end
  end
end

-- counted adds delta[blk] to the live count of each log block blk: in its group's
-- hash <base>g:<group> (block offset in the group -> count), in the group's total (the
-- Fenwick hash's field "t<group>", beside its numeric nodes), and in the Fenwick tree.
local function counted(delta)
  local groups = {}
  for blk, d in pairs(delta) do
    if d ~= 0 then
      local b = tonumber(blk)
      local g = math.floor(b / GROUP)
      local key = BASE .. 'g:' .. g
      if redis.call('HINCRBY', key, b % GROUP, d) == 0 then redis.call('HDEL', key, b % GROUP) end
      groups[tostring(g)] = (groups[tostring(g)] or 0) + d
    end
  end
  for g, d in pairs(groups) do
    if d ~= 0 and redis.call('HINCRBY', FEN, 't' .. g, d) == 0 then redis.call('HDEL', FEN, 't' .. g) end
  end
  fenwick(groups)
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
