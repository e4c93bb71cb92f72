-- Finds a call record by the Call-ID of either of its legs.
-- KEYS: 1 tandem:dlg:<call-id>. Returns the record's JSON, or nil when the call is unknown.
local uuid = redis.call('GET', KEYS[1])
if not uuid then return false end
return redis.call('GET', 'tandem:call:' .. uuid)
