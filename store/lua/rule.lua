-- rule.lua: add or remove some of the org's rules (prefixes of E.164 digits, each of
-- which blocks every number beginning with it), with an audit event for each rule
-- that changes. When any does, the rules' version ("rv" in the meta hash) goes up; the
-- caller then writes it into every bucket's stamp (rules_stamp.lua), so that checks,
-- which keep the rules of the version their bucket names, learn the new rules.
-- KEYS    meta, f, d (lib.lua)
-- ARGV[1] "1" add or "0" remove
-- ARGV[2] the most rules an org may have
-- ARGV[3] an epoch for the org's data, used if the org has none yet: rules are part of
--         the org's data, so a flush that loses them is seen as lost state
-- ARGV[4..] the rules' digits
-- and the audit log's four (lib_audit.lua).
-- Reply: {how many rules changed, the rules' version, the version every bucket is known
-- to name (the meta hash's "rs", which rules_stamp.lua writes when a walk ends)}: when
-- the last is the lower, a walk is still owed, even if this call changed nothing (a
-- retry after a walk cut short).
local s, err = state()
if not s then return redis.error_reply(err) end
local aerr = auditReady()
if aerr then return redis.error_reply(aerr) end
local RULES = BASE .. 'rules'
local t = redis.call('TYPE', RULES).ok
if t ~= 'set' and t ~= 'none' then
  return redis.error_reply('DNCCORRUPT ' .. RULES .. ' holds a ' .. t .. ', not a set')
end
local todo = {}
for i = 4, #ARGV do
  local has = redis.call('SISMEMBER', RULES, ARGV[i]) == 1
  if (ARGV[1] == '1') ~= has and not todo[ARGV[i]] then
    todo[#todo + 1], todo[ARGV[i]] = ARGV[i], true
  end
end
local rs = tonumber(redis.call('HGET', META, 'rs') or '0')
if #todo == 0 then return {0, s.rv, rs} end
if ARGV[1] == '1' then
  if redis.call('SCARD', RULES) + #todo > tonumber(ARGV[2]) then
    return redis.error_reply('DNCRULES an org may have ' .. ARGV[2] .. ' rules')
  end
  create(s, ARGV[3])
end
for _, r in ipairs(todo) do
  if ARGV[1] == '1' then redis.call('SADD', RULES, r) else redis.call('SREM', RULES, r) end
  audit('+' .. r)
end
local rv = redis.call('HINCRBY', META, 'rv', 1)
return {#todo, rv, rs}
