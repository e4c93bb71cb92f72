-- Applies one REGISTER to an address-of-record atomically (RFC 3261 10.3 steps 6 to 8).
-- KEYS: 1 the AoR hash, 2 the tenant's registration index, 3 the nonce key ("" when none),
--       4 this node's keepalive set (score: when to ping next, one interval after a REGISTER).
-- ARGV: 1 now, 2 user, 3 nc, 4 nonce ttl, 5 call-id, 6 cseq, 7 wildcard (1/0), 8 max contacts,
--       9 domain, 10 keepalive interval (0: none), then per contact: field, expires_at
--       (0 removes), binding JSON.
-- Returns {"ok", json...} with every live binding, or {"replay"}, {"order"}, {"toomany"}.
-- Everything is checked before anything is written, so a refused REGISTER changes nothing.
-- The keepalive sets of other nodes (tandem:ka:<node>) are derived from stored bindings and so
-- cannot be declared in KEYS; this needs a standalone Redis (with Sentinel), not Redis Cluster.
local now = tonumber(ARGV[1])
local callid = ARGV[5]
local cseq = tonumber(ARGV[6])
local prefix = ARGV[9] .. '\n' .. ARGV[2] .. '\n'
local FIRST = 11
local ka_interval = tonumber(ARGV[10])

if KEYS[3] ~= '' then
    local seen = tonumber(redis.call('GET', KEYS[3]) or '0')
    if tonumber(ARGV[3]) <= seen then
        return {'replay'}
    end
end

local live, before = {}, {}
local existing = redis.call('HGETALL', KEYS[1])
for i = 1, #existing, 2 do
    local ok, b = pcall(cjson.decode, existing[i + 1])
    if ok and type(b) == 'table' then
        before[existing[i]] = b.node
        if tonumber(b.expires_at) and b.expires_at > now then
            live[existing[i]] = {exp = b.expires_at, raw = existing[i + 1], call_id = b.call_id,
                                 cseq = tonumber(b.cseq) or 0, node = b.node}
        end
    end
end

local function out_of_order(b)
    return b and b.call_id == callid and b.cseq >= cseq
end

local written = {}
if ARGV[7] == '1' then
    for _, b in pairs(live) do
        if out_of_order(b) then return {'order'} end
    end
    live = {}
else
    for i = FIRST, #ARGV, 3 do
        if out_of_order(live[ARGV[i]]) then return {'order'} end
    end
    for i = FIRST, #ARGV, 3 do
        local exp = tonumber(ARGV[i + 1])
        if exp == 0 then
            live[ARGV[i]] = nil
        else
            live[ARGV[i]] = {exp = exp, raw = ARGV[i + 2]}
            written[ARGV[i]] = exp
        end
    end
end

local count, maxexp, fields, result = 0, 0, {}, {'ok'}
for f, b in pairs(live) do
    count = count + 1
    if b.exp > maxexp then maxexp = b.exp end
    fields[#fields + 1] = f
    fields[#fields + 1] = b.raw
    result[#result + 1] = b.raw
end
if count > tonumber(ARGV[8]) then
    return {'toomany'}
end

if KEYS[3] ~= '' then
    redis.call('SET', KEYS[3], ARGV[3], 'EX', tonumber(ARGV[4]))
end
-- Keepalive sets: a binding is pinged by the node that holds its socket, and only by it.
for f, node in pairs(before) do
    if node and (not live[f] or written[f]) then
        redis.call('ZREM', 'tandem:ka:' .. node, prefix .. f)
    end
end
if ka_interval > 0 then
    for f, _ in pairs(written) do
        redis.call('ZADD', KEYS[4], now + ka_interval, prefix .. f)
    end
end
redis.call('DEL', KEYS[1])
if count > 0 then
    redis.call('HSET', KEYS[1], unpack(fields))
    redis.call('EXPIREAT', KEYS[1], maxexp)
    redis.call('ZADD', KEYS[2], maxexp, ARGV[2])
else
    redis.call('ZREM', KEYS[2], ARGV[2])
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
return result
