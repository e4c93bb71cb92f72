-- Records one OPTIONS ping of a gateway by the node that owns it, in the gateway's state hash.
-- KEYS: 1 tandem:gw:<id>. ARGV: 1 answered (1/0), 2 SIP status (408 for no answer), 3 now (unix
-- seconds), 4 consecutive failures that mark it down, 5 TTL seconds, 6 the pinging node's id.
-- Any answer marks it up at once; it goes down only after ARGV[4] failures in a row, counted
-- here rather than in the node, so a new owner (after a node died) continues the count.
-- Returns {up (1, 0, or -1 while still unknown), 1 when this ping changed it}.
local k = KEYS[1]
local up = redis.call('HGET', k, 'up')
local changed = 0
if ARGV[1] == '1' then
    redis.call('HSET', k, 'failures', '0')
    if up ~= '1' then
        redis.call('HSET', k, 'up', '1', 'since', ARGV[3])
        up, changed = '1', 1
    end
else
    local failures = redis.call('HINCRBY', k, 'failures', 1)
    if failures >= tonumber(ARGV[4]) and up ~= '0' then
        redis.call('HSET', k, 'up', '0', 'since', ARGV[3])
        up, changed = '0', 1
    end
end
redis.call('HSET', k, 'last_status', ARGV[2], 'last_ping', ARGV[3], 'node', ARGV[6])
redis.call('EXPIRE', k, tonumber(ARGV[5]))
return {tonumber(up or '-1'), changed}
