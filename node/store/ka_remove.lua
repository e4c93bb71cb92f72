-- Removes a binding whose keepalives went unanswered, unless it was refreshed meanwhile.
-- KEYS: 1 the AoR hash, 2 the tenant's registration index, 3 this node's keepalive set.
-- ARGV: 1 field, 2 registered_at of the binding that was pinged, 3 user, 4 keepalive member.
-- Returns 1 when removed, 0 when the binding had changed (or was already gone).
redis.call('ZREM', KEYS[3], ARGV[4])
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local ok, b = pcall(cjson.decode, raw)
if ok and type(b) == 'table' and tostring(b.registered_at) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HLEN', KEYS[1]) == 0 then
    redis.call('DEL', KEYS[1])
    redis.call('ZREM', KEYS[2], ARGV[3])
end
return 1
