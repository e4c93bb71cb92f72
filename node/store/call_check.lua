-- The owner node's periodic look at a call it holds media for.
-- KEYS: 1 tandem:call:<uuid>, 2 tandem:hangup:<uuid> (set by the REST API to ask for a hang-up).
-- Returns {record exists (0/1), hang-up asked (0/1)}; the request is consumed here.
local exists = redis.call('EXISTS', KEYS[1])
local hangup = redis.call('DEL', KEYS[2])
return {exists, hangup}
