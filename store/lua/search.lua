-- search.lua: the entries of some log blocks, newest first, that match a search.
-- KEYS    meta, f, d (lib.lua)
-- ARGV[1] the log block to start at, downwards ("" for the newest)
-- ARGV[2] how many blocks to read at most
-- ARGV[3] text to match, lower-case, against type, batchId and requestUUID ("" none)
-- ARGV[4] the 16 bytes of the text as a UUID ("" when it is not one)
-- ARGV[5..] number prefixes: E.164 digits without "+"
-- Reply: {next, k, digits1, record1, ..., index, text, ...}: next is the block to pass
-- next time, -1 when every block has been read; then the k matches and the dictionary
-- texts their records name. A match's record is "" when it is gone or newer.
local s, err = state()
if not s then return redis.error_reply(err) end
local blk = tonumber(ARGV[1])
if ARGV[1] == '' then blk = math.floor(s.seq / BLOCK) end
local text, uuid = ARGV[3], ARGV[4]
local lower = {}   -- dictionary index -> its text, lower-case
local function dictIs(i)
  if i == 0 then return false end
  local t = lower[i]
  if t == nil then
    t = string.lower(redis.call('HGET', DICT, 'i' .. i) or '')
    lower[i] = t
  end
  return t == text
end
local function textMatch(rec)
  if #rec < 17 then return false end
  if dictIs(unpackBE(rec, 12, 14)) or dictIs(unpackBE(rec, 15, 17)) then return true end
  local kind = string.byte(rec, 18)
  if kind == 1 or kind == 2 then return string.sub(rec, 19) == uuid end
  if kind == 0 then return string.lower(string.sub(rec, 19)) == text end
  if kind == 3 and #rec == 21 then return dictIs(unpackBE(rec, 19, 21)) end
  return false
end
local matches, dict, seen = {}, {}, {}
local stop = math.max(blk - tonumber(ARGV[2]) + 1, 0)
for b = blk, stop, -1 do
  local kv = redis.call('HGETALL', logKey(b))
  local offs, byOff = {}, {}
  for j = 1, #kv, 2 do
    local o = tonumber(kv[j])
    offs[#offs + 1] = o
    byOff[o] = kv[j + 1]
  end
  table.sort(offs)
  for j = #offs, 1, -1 do
    local digits = byOff[offs[j]]
    local hit = false
    for a = 5, #ARGV do
      if string.sub(digits, 1, #ARGV[a]) == ARGV[a] then hit = true break end
    end
    local rec = nil
    if not hit and text ~= '' then
      rec = redis.call('HGET', bucketKey(digits, s.L, s.p), digits) or ''
      hit = textMatch(rec)
    end
    if hit then
      rec = rec or redis.call('HGET', bucketKey(digits, s.L, s.p), digits) or ''
      if #rec < 5 or unpackBE(rec, 1, 5) ~= b * BLOCK + offs[j] then rec = '' end
      matches[#matches + 1] = digits
      matches[#matches + 1] = rec
      dictOf(rec, dict, seen)
    end
  end
end
local out = {stop - 1, #matches / 2}
for _, v in ipairs(matches) do out[#out + 1] = v end
for _, v in ipairs(dict) do out[#out + 1] = v end
return out
