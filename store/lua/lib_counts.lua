-- lib_counts.lua: the listing's counts (after lib.lua, in front of the scripts that
-- write or page the listing).

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
  for g, grp in pairs(c.groups) do putCounts(BASE .. 'g:' .. g, grp.val, grp.new) end
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
  putCounts(FEN, c.fen, changed)
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
