-- list.lua: one page of an org's entries, newest first, with the total.
-- KEYS[1] <prefix>:{org}:added     zset E.164 scored by createdAt (ms)
-- KEYS[2] <prefix>:{org}:entries   hash "+E.164" -> entry JSON (and the "enabled" switch)
-- ARGV[1] offset (0-based), ARGV[2] limit (> 0)
-- Reply: {total, number1, json1, number2, json2, ...}
local offset = tonumber(ARGV[1])
local stop = offset + tonumber(ARGV[2]) - 1
local page = redis.call('ZREVRANGE', KEYS[1], offset, stop)
local reply = {redis.call('ZCARD', KEYS[1])}
for i = 1, #page do
  reply[#reply + 1] = page[i]
  reply[#reply + 1] = redis.call('HGET', KEYS[2], page[i]) or ''
end
return reply
