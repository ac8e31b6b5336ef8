-- rules_get.lua: the org's rules and their version, read together.
-- KEYS    meta, f, d (lib.lua)
-- Reply: {version, digits, ...}
local rv = tonumber(redis.call('HGET', META, 'rv') or '0')
local out = {rv or 0}
for _, r in ipairs(redis.call('SMEMBERS', BASE .. 'rules')) do out[#out + 1] = r end
return out
