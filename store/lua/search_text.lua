-- search_text.lua: the entries whose type, batchId or requestUUID equals a text, in any
-- case (ASCII): counted, and a page.
-- KEYS    meta, f, d (lib.lua)
-- ARGV[1] the text, lower-case
-- ARGV[2] its 16 bytes when it is a UUID, else ""
-- ARGV[3] matches to pass over before the page, ARGV[4] matches to return at most
-- ARGV[5] the most type and batchId matches this call gathers when it must (below)
-- ARGV[6..] number prefixes (E.164 digits): entries whose number begins with one are
--         left out (a search lists them with the numbers)
-- Reply: {total, k, digits1, record1, ..., index, text, ...}: the matches, type and
-- batchId matches first, newest first, then requestUUID matches, newest first; each
-- entry once. The type and batchId matches come from the postings of the text's folded
-- index (in every case it is stored in): a page costs an HMGET of the superblock
-- counts, one of a superblock's block counts and an SMEMBERS, whatever the list's size.
-- When prefixes are given, the matches whose number begins with one must be left out,
-- so they are gathered and read here, and more than ARGV[5] of them fail with DNCBROAD.
-- RequestUUIDs are found through their fingerprints (fpOf): an SMEMBERS of one bucket of
-- about 64, and a record read for each that has the fingerprint.
local s, err = state()
if not s then return redis.error_reply(err) end
local text, uuid = ARGV[1], ARGV[2]
local pass, want, cap = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local prefixes = {}
for a = 6, #ARGV do prefixes[#prefixes + 1] = ARGV[a] end
local function prefixed(digits)
  for _, pfx in ipairs(prefixes) do
    if string.sub(digits, 1, #pfx) == pfx then return true end
  end
  return false
end
local top = floor(s.seq / PB)
local topSB = floor(top / SB)

-- the entry with sequence number seq: its digits and record ('' when it is gone)
local function entryAt(seq)
  local digits = redis.call('HGET', logKey(floor(seq / BLOCK)), itoa(seq % BLOCK))
  if not digits then return nil, '' end
  local rec = redis.call('HGET', bucketKey(digits, s.L, s.p), digits) or ''
  if #rec < 5 or seqOf(rec) ~= seq then rec = '' end
  return digits, rec
end

-- The text's folded index (lib_index.lua) and how many live entries name it.
local folded, count = textIndex(text)
-- dictMatch says whether dictionary index i is a text equal to the search but for case.
local dictTexts = {}
local function dictMatch(i)
  if i == 0 then return false end
  local m = dictTexts[i]
  if m == nil then
    m = string.lower(redis.call('HGET', DICT, 'i' .. itoa(i)) or '') == text
    dictTexts[i] = m
  end
  return m
end

-- postPage returns up to l sequence numbers of index is, newest first, after passing o.
local function postPage(is, o, l)
  local out = {}
  if l <= 0 then return out end
  local ck = postCountKey(is)
  local sbf = {}
  for sb = topSB, 0, -1 do sbf[#sbf + 1] = 's' .. itoa(sb) end
  local sbc = hmgetMany(ck, sbf)
  for j = 1, #sbf do
    local c = tonumber(sbc[j] or '0') or 0
    if o >= c then
      o = o - c
    else
      local sb = topSB - j + 1
      local bf = {}
      for pb = math.min(top, sb * SB + SB - 1), sb * SB, -1 do bf[#bf + 1] = itoa(pb) end
      local bc = hmgetMany(ck, bf)
      for q = 1, #bf do
        local c2 = tonumber(bc[q] or '0') or 0
        if o >= c2 then
          o = o - c2
        elseif c2 > 0 then
          local n, at = numbersOf(postKey(is, bf[q]))
          local base = tonumber(bf[q]) * PB
          for z = n - o, 1, -1 do -- newest first
            out[#out + 1] = base + at(z)
            if #out >= l then return out end
          end
          o = 0
        end
      end
    end
  end
  return out
end

-- The type and batchId matches: their count, and a function for a page of them.
local dtotal, dpage = 0, nil
if count > 0 and #prefixes == 0 then
  dtotal = count
  dpage = function(o, l) -- an entry whose record is gone (foreign data) is passed over
    local out = {}
    while #out < l do
      local seqs = postPage(folded, o, l - #out)
      if #seqs == 0 then break end
      for _, seq in ipairs(seqs) do
        local d, rec = entryAt(seq)
        if d and rec ~= '' then out[#out + 1] = {d, rec} end
      end
      o = o + #seqs
    end
    return out
  end
elseif count > 0 then
  if count > cap then
    return redis.error_reply('DNCBROAD ' .. count .. ' entries have this type or batch id, which is also the start of numbers; at most ' .. cap .. ' can be searched so')
  end
  local kept = {}
  for _, seq in ipairs(postPage(folded, 0, count)) do
    local d, rec = entryAt(seq)
    if d and rec ~= '' and not prefixed(d) then kept[#kept + 1] = {d, rec} end
  end
  dtotal = #kept
  dpage = function(o, l)
    local out = {}
    for z = o + 1, math.min(#kept, o + l) do out[#out + 1] = kept[z] end
    return out
  end
end

-- The requestUUID matches that are not type or batchId matches already, newest first.
local umatch = {}
do
  local seen = {}
  for _, fp in ipairs(textFingerprints(text, uuid)) do
    for _, seq in ipairs(fpSeqs(rbucketKey(fp, s.L, s.p), fp)) do
      if not seen[seq] then
        seen[seq] = true
        local d, rec = entryAt(seq)
        local part = d and uuidPart(rec) or ''
        if #part > 1 and not prefixed(d) then
          local kind, u = string.byte(part, 1), string.sub(part, 2)
          local hit = ((kind == 1 or kind == 2) and u == uuid and uuid ~= '') or (kind == 0 and string.lower(u) == text)
          local ti, bi, ui = recIndexes(rec)
          if hit and not (dictMatch(ti) or dictMatch(bi) or dictMatch(ui)) then umatch[#umatch + 1] = {seq, d, rec} end
        end
      end
    end
  end
  table.sort(umatch, function(x, y) return x[1] > y[1] end)
end

local page = {}
if pass < dtotal and dpage then page = dpage(pass, want) end
for z = math.max(pass - dtotal, 0) + 1, #umatch do
  if #page >= want then break end
  page[#page + 1] = {umatch[z][2], umatch[z][3]}
end
local out, dict, seen = {dtotal + #umatch, #page}, {}, {}
for _, e in ipairs(page) do
  out[#out + 1] = e[1]
  out[#out + 1] = e[2]
  dictOf(e[2], dict, seen)
end
for _, x in ipairs(dict) do out[#out + 1] = x end
return out
