-- search_number.lua: the listed numbers in ranges, in number order: counted, and a page.
-- KEYS    meta, f, d (lib.lua)
-- ARGV[1] "" to start; else "<r> <from>": go on with range r from the number <from> (the
--         numbers below it are counted already: a chunk that splits meanwhile moves only
--         numbers above its base, so none is counted twice)
-- ARGV[2] matches to pass over before the page
-- ARGV[3] matches to return at most
-- ARGV[4] the work this call may do, in chunks counted (SCARD, about 1 µs); a chunk whose
--         members it reads (SMEMBERS: at a range's end, or on the page) counts READ. It bounds the time the script holds Redis; at least one chunk is read.
-- ARGV[5] a text the search also matches type, batchId and requestUUID with (lower-case;
--         "" for none), ARGV[6] its 16 bytes when it is a UUID, else ""
-- ARGV[7..] the ranges, three values each, in number order: a length in digits, and the
--         lowest and highest number of that length in the range (decimal)
-- Reply: {cursor, counted, pass, maybe, k, digits1, record1, ..., index, text, ...}:
-- cursor is ARGV[1] for the next call ("" when every range is read), counted the matches
-- in the chunks this call read, pass what is left of ARGV[2]; maybe is 1 when the first
-- call finds that the text may match some entry (search_text.lua then says which), else
-- 0; then k matches of the page (a record "" when it is gone since) and the dictionary
-- texts their records name.
-- Cost: one ZRANGEBYSCORE a call, one SCARD a chunk inside a range (a chunk holds 192
-- to 384 numbers), and one SMEMBERS for each chunk at a range's ends or on the page.
local s, err = state()
if not s then return redis.error_reply(err) end
local pass, want, budget = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local READ = 4
local r, from = 1, nil
if ARGV[1] ~= '' then
  local a, b = string.match(ARGV[1], '^(%d+) (%d+)$')
  if not a then return redis.error_reply('ERR search_number: bad cursor') end
  r, from = tonumber(a), b
end
local ranges = (#ARGV - 6) / 3
local maybe = 0
if ARGV[1] == '' and ARGV[5] ~= '' then
  local _, count = textIndex(ARGV[5])
  if count > 0 then maybe = 1 end
  for _, fp in ipairs(textFingerprints(ARGV[5], ARGV[6])) do
    if #fpSeqs(rbucketKey(fp, s.L, s.p), fp) > 0 then maybe = 1 end
  end
end
local counted, found, dict, seen = 0, {}, {}, {}
local function reply(cursor)
  local out = {cursor, counted, pass, maybe, #found / 2}
  for _, x in ipairs(found) do out[#out + 1] = x end
  for _, x in ipairs(dict) do out[#out + 1] = x end
  return out
end
-- members returns the chunk's numbers in [lo, hi]: how many, and the i-th of them.
local function members(ck, base, lo, hi)
  local n, at = numbersOf(ck)
  local first = lowerBound(n, at, lo - base)
  local last = lowerBound(n, at, hi - base + 1) - 1
  return math.max(0, last - first + 1), function(i) return base + at(first + i - 1) end
end
while r <= ranges do
  local len, los, his = ARGV[4 + 3 * r], from or ARGV[5 + 3 * r], ARGV[6 + 3 * r]
  if budget <= 0 then return reply(r .. ' ' .. los) end
  local lo, hi, dir = tonumber(los), tonumber(his), BASE .. 'o:' .. len
  -- the chunk that holds lo (none when lo lies below chunk 0: no number of this length),
  -- then the ones that start after it: one more than are read, to know each one's end
  local bases = {}
  local first = redis.call('ZREVRANGEBYSCORE', dir, los, '-inf', 'LIMIT', 0, 1)[1]
  if first then bases[1] = first end
  for _, b in ipairs(redis.call('ZRANGEBYSCORE', dir, '(' .. los, his, 'LIMIT', 0, budget + 1)) do bases[#bases + 1] = b end
  local j = 1
  while j <= #bases do
    local bs = bases[j]
    if budget <= 0 then return reply(r .. ' ' .. bs) end
    local base, nxt = tonumber(bs), bases[j + 1]
    if not base then return redis.error_reply('DNCCORRUPT ' .. dir .. ' lists chunk ' .. bs) end
    local ck = dir .. ':' .. bs
    local inside = base >= lo and nxt ~= nil and tonumber(nxt) - 1 <= hi
    local at, c = nil, 0
    if inside then
      c = redis.call('SCARD', ck)
    else
      c, at = members(ck, base, lo, hi)
      budget = budget - READ + 1
    end
    counted = counted + c
    if pass >= c then
      pass = pass - c
    elseif want > 0 then
      if not at then
        c, at = members(ck, base, lo, hi)
        budget = budget - READ + 1
      end
      for q = pass + 1, c do -- a number whose record is gone (foreign data) is passed over
        if want == 0 then break end
        local d = itoa(at(q))
        local rec = redis.call('HGET', bucketKey(d, s.L, s.p), d)
        if rec then
          found[#found + 1] = d
          found[#found + 1] = rec
          dictOf(rec, dict, seen)
          want = want - 1
        end
      end
      pass = 0
    end
    budget, j = budget - 1, j + 1
  end
  r, from = r + 1, nil
end
return reply('')
