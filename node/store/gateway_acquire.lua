-- Takes one call slot on a gateway for one set-up attempt, or refuses: max_calls (concurrent)
-- and max_cps (token bucket), checked and taken together so no two nodes can both take the
-- last slot or token.
-- KEYS: 1 tandem:gwcalls:<id> (sorted set: call uuid -> lease expiry, unix ms),
--       2 tandem:gwcps:<id> (hash: tokens, ts = unix ms of that token count).
-- ARGV: 1 call uuid, 2 now (unix ms), 3 lease ms, 4 max_calls (0 = none),
--       5 max_cps (0 = none; fractional allowed).
-- A slot is a lease its node renews while the call lasts (gateway_limits.c): a crashed node's
-- calls stop counting when their leases run out, so the counter cannot leak.
-- Returns 1 taken, 0 refused by max_calls, -1 refused by max_cps.
local now, lease = tonumber(ARGV[2]), tonumber(ARGV[3])
local max_calls, cps = tonumber(ARGV[4]), tonumber(ARGV[5])
if max_calls > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
    if not redis.call('ZSCORE', KEYS[1], ARGV[1])
        and redis.call('ZCARD', KEYS[1]) >= max_calls then
        return 0
    end
end
if cps > 0 then
    local burst = math.max(1, cps)
    local b = redis.call('HMGET', KEYS[2], 'tokens', 'ts')
    local tokens, ts = tonumber(b[1]) or burst, tonumber(b[2]) or now
    local elapsed = math.max(0, now - ts)
    tokens = math.min(burst, tokens + elapsed * cps / 1000)
    if tokens < 1 then
        return -1
    end
    redis.call('HSET', KEYS[2], 'tokens', string.format('%.6f', tokens - 1), 'ts', ARGV[2])
    redis.call('PEXPIRE', KEYS[2], math.ceil(burst / cps * 1000) + 1000)
end
if max_calls > 0 then
    redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
    redis.call('PEXPIRE', KEYS[1], lease + 1000)
end
return 1
