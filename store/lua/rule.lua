-- rule.lua: add or remove one of the org's rules (a prefix of E.164 digits that blocks
-- every number beginning with it), with its audit event.
-- KEYS    meta, f, d (lib.lua)
-- ARGV[1] "1" add or "0" remove
-- ARGV[2] the rule's digits
-- ARGV[3] an epoch for the org's data, used if the org has none yet: rules are part of
--         the org's data, so a flush that loses them is seen as lost state
-- ARGV[4] the most rules an org may have
-- and the audit log's four (lib_audit.lua): one event when the call changed the rules.
-- Reply: 1 when the rules changed, 0 when they were as asked already.
local s, err = state()
if not s then return redis.error_reply(err) end
local aerr = auditReady()
if aerr then return redis.error_reply(aerr) end
local RULES = BASE .. 'rules'
local t = redis.call('TYPE', RULES).ok
if t ~= 'set' and t ~= 'none' then
  return redis.error_reply('DNCCORRUPT ' .. RULES .. ' holds a ' .. t .. ', not a set')
end
local r
if ARGV[1] == '1' then
  if redis.call('SISMEMBER', RULES, ARGV[2]) == 1 then return 0 end
  if redis.call('SCARD', RULES) >= tonumber(ARGV[4]) then
    return redis.error_reply('DNCRULES the org has ' .. ARGV[4] .. ' rules, the most it may have')
  end
  create(s, ARGV[3])
  r = redis.call('SADD', RULES, ARGV[2])
else
  r = redis.call('SREM', RULES, ARGV[2])
end
if r == 1 then audit('+' .. ARGV[2]) end
return r
