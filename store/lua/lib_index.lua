-- lib_index.lua: the search indexes (after lib.lua, in front of the scripts that
-- write or search them).

-- The search indexes (keys.go).
-- Postings: the live entries that name a text equal to dictionary text i but for case
-- (as type, batchId or long requestUUID), i being the first such text stored (the first
-- index its "l" field lists: its folded index), by sequence number in blocks of PB:
-- <base>x:<i>:<pb> is the set of seq - pb * PB (an intset: 2 bytes a member), and
-- <base>xc:<i> counts them: "t" all, "s<sb>" those of superblock sb (SB blocks), "<pb>"
-- those of block pb. So a search reads one list whatever the cases stored.
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
  local u, part = 0, uuidPart(rec)
  if #part == 4 and string.byte(part, 1) == 3 then u = unpackBE(part, 2, 4) end
  return unpackBE(rec, 12, 14), unpackBE(rec, 15, 17), u
end

-- foldOf returns the folded index of dictionary index i (0 for 0), remembered in cache:
-- read from the dictionary, or i itself for a text the dictionary lacks (foreign data).
local function foldOf(i, cache)
  if i == 0 then return 0 end
  local f = cache[i]
  if f then return f end
  local text = redis.call('HGET', DICT, 'i' .. itoa(i))
  f = i
  if text then f = tonumber(string.match(redis.call('HGET', DICT, 'l' .. string.lower(text)) or '', '^%d+') or '') or i end
  cache[i] = f
  return f
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
    putCounts(postCountKey(is), vals, changed)
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

-- rsplit returns the requestUUID bucket that splits, and the level it splits at, when
-- the numbers' table of level L and split pointer p splits its bucket p; nil on three
-- splits in four.
local function rsplit(L, p)
  local rl, rp = rshape(L, p)
  local nl, np = L, p + 1
  if np == 2 ^ L then nl, np = L + 1, 0 end
  local rl2, rp2 = rshape(nl, np)
  if rl2 ~= rl or rp2 ~= rp then return rp, rl end
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
  for _, m in ipairs(ms) do -- members that are not the store's stay where they are
    if string.find(m, '^%d+$') then v[#v + 1] = tonumber(m) end
  end
  if #v <= OMAX then return end
  sortUp(v)
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

-- textIndex returns a search text's folded index (lower-case text; nil when the
-- dictionary has it in no case) and how many live entries carry it as type, batchId or
-- long requestUUID.
local function textIndex(text)
  local folded = string.match(redis.call('HGET', DICT, 'l' .. text) or '', '^%d+')
  if not folded then return nil, 0 end
  return folded, tonumber(redis.call('HGET', postCountKey(folded), 't') or '0') or 0
end

-- textFingerprints returns the fingerprints a requestUUID equal to a search text may
-- have: of its 16 bytes when it is a UUID (uuid, else ""), and of the text as short text.
local function textFingerprints(text, uuid)
  local fps = {}
  if uuid ~= '' then fps[#fps + 1] = fpOf('\1' .. uuid) end
  if text ~= '' and #text <= 40 then fps[#fps + 1] = fpOf('\0' .. text) end
  return fps
end

-- fpSeqs returns the sequence numbers that the requestUUID bucket at key files under
-- fingerprint fp. An intset sends its members in numeric order (OBJECT ENCODING says
-- which sets are intsets), so the first of fp's is found by binary search over the
-- members as text (a shorter one is smaller) and only fp's are read; any other set's
-- members are all read.
local function fpSeqs(key, fp)
  local ms, out = redis.call('SMEMBERS', key), {}
  local first = 1
  if redis.pcall('OBJECT', 'ENCODING', key) == 'intset' then
    local lo = umember(fp, 0)
    local a, b = 1, #ms + 1
    while a < b do
      local mid = floor((a + b) / 2)
      local m = ms[mid]
      if #m < #lo or (#m == #lo and m < lo) then a = mid + 1 else b = mid end
    end
    for i = a, #ms do
      local f, seq = uparse(ms[i])
      if f ~= fp then break end
      out[#out + 1] = seq
    end
    return out
  end
  for _, x in ipairs(ms) do
    local f, seq = uparse(x)
    if f == fp then out[#out + 1] = seq end
  end
  return out
end
