-- lib_audit.lua: the org's audit log, for the scripts that change the org's state.
-- <base>audit is a stream; each event has the fields a (action), u (actor) and d
-- (detail), and its id is the server's time in milliseconds. Such a script takes four
-- arguments more, last in ARGV: the action, the actor, the log's retention in
-- milliseconds (0: no bound by age) and its longest length (0: no bound). They are
-- taken off ARGV here (from its end, which moves nothing), so the script's own
-- arguments are all it sees.
local AUDIT = BASE .. 'audit'
local AUDIT_MAXLEN = tonumber(table.remove(ARGV))
local AUDIT_AGE = tonumber(table.remove(ARGV))
local AUDIT_ACTOR = table.remove(ARGV)
local AUDIT_ACTION = table.remove(ARGV)

-- auditReady returns nil if the log can take an event, else the error to reply with: a
-- script calls it before its first write, so that the event cannot fail after the
-- change it records.
local function auditReady()
  if not AUDIT_MAXLEN or not AUDIT_AGE or not AUDIT_ACTION then
    return 'ERR audit: missing arguments'
  end
  local t = redis.call('TYPE', AUDIT).ok
  if t ~= 'stream' and t ~= 'none' then
    return 'DNCCORRUPT ' .. AUDIT .. ' holds a ' .. t .. ', not a stream'
  end
  return nil
end

-- audit appends one event (the script's action unless another is given) and trims the
-- log: events older than the retention, and the oldest beyond the longest length, go
-- a node of events at a time (the "~" of XADD and XTRIM).
local function audit(detail, action)
  local args = {'XADD', AUDIT}
  if AUDIT_AGE > 0 then
    local t = redis.call('TIME')
    local oldest = tonumber(t[1]) * 1000 + floor(tonumber(t[2]) / 1000) - AUDIT_AGE
    if oldest > 0 then
      args[3], args[4], args[5] = 'MINID', '~', string.format('%.0f', oldest)
    end
  end
  args[#args + 1] = '*'
  args[#args + 1], args[#args + 2] = 'a', action or AUDIT_ACTION
  args[#args + 1], args[#args + 2] = 'u', AUDIT_ACTOR
  args[#args + 1], args[#args + 2] = 'd', detail or ''
  redis.call(unpack(args))
  if AUDIT_MAXLEN > 0 then redis.call('XTRIM', AUDIT, 'MAXLEN', '~', AUDIT_MAXLEN) end
end

-- auditNumbers spells the detail of a write of count numbers: the number itself when
-- it is one (digits, without "+"), else the count; with the batch id when one is given;
-- after verb ("add", "remove") when the script's action is an import, which does both.
local function auditNumbers(count, digits, batch, verb)
  local d
  if count == 1 and digits then d = '+' .. digits else d = itoa(count) .. ' numbers' end
  if batch and batch ~= '' then d = d .. ' batch ' .. batch end
  if AUDIT_ACTION == 'import' then d = verb .. ' ' .. d end
  return d
end
