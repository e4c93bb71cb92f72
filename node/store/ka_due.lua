-- Hands out the bindings this node must ping now and reschedules them one interval later.
-- KEYS: 1 this node's keepalive set (member "domain\nuser\nfield", score = next ping time).
-- ARGV: 1 now, 2 interval, 3 batch limit, 4 this node's id.
-- Returns {member, binding JSON, ...}. Members whose binding is gone, expired or taken over by
-- another node are dropped from the set here, so the set never outgrows the live bindings.
local now, interval = tonumber(ARGV[1]), tonumber(ARGV[2])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, m in ipairs(due) do
    local d, u, f = string.match(m, '^([^\n]*)\n([^\n]*)\n(.*)$')
    local raw = d and redis.call('HGET', 'tandem:reg:' .. d .. ':' .. u, f)
    local ok, b = false, nil
    if raw then ok, b = pcall(cjson.decode, raw) end
    if ok and type(b) == 'table' and tonumber(b.expires_at) and b.expires_at > now
        and b.node == ARGV[4] then
        out[#out + 1] = m
        out[#out + 1] = raw
        redis.call('ZADD', KEYS[1], now + interval, m)
    else
        redis.call('ZREM', KEYS[1], m)
    end
end
return out
