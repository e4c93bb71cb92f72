-- A successor takes over a dead node's calls (DESIGN 4), fenced by the membership ring id.
-- KEYS: 1 tandem:claim:<dead>, 2 tandem:ncalls:<dead>, 3 tandem:ncalls:<successor>,
-- 4 tandem:stexp:<dead>, 5 tandem:stexp:<successor> (session-timer deadlines move too).
-- ARGV: 1 successor, 2 fencing token (ring id), 3 now (unix ms).
-- Returns {0} when a claim with an equal or higher token by another node stands, {2} when
-- another node claimed it before and nothing is left, {3} when the claim is already ours and
-- nothing new is left (a sweep must not mistake that for "nothing to hold"), else
-- {1, record, record, ...}: the dead node's call records, whose uuids move to the successor's set.
local by = redis.call('HGET', KEYS[1], 'by')
local token = tonumber(redis.call('HGET', KEYS[1], 'token') or '-1')
if by and by ~= ARGV[1] and token >= tonumber(ARGV[2]) then
  return {0}
end
if by and by ~= ARGV[1] and redis.call('SCARD', KEYS[2]) == 0 then
  return {2} -- taken over before, nothing left: the claim (and the address) stay with its holder
end
if by == ARGV[1] and redis.call('SCARD', KEYS[2]) == 0 then
  return {3}
end
redis.call('HSET', KEYS[1], 'by', ARGV[1], 'token', ARGV[2], 'at', ARGV[3])
redis.call('EXPIRE', KEYS[1], 86400)
local out = {1}
for _, uuid in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local record = redis.call('GET', 'tandem:call:' .. uuid)
  if record then
    out[#out + 1] = record
    redis.call('SADD', KEYS[3], uuid)
  end
end
redis.call('DEL', KEYS[2])
redis.call('ZUNIONSTORE', KEYS[5], 2, KEYS[5], KEYS[4])
redis.call('DEL', KEYS[4])
redis.call('EXPIRE', KEYS[3], 86400)
return out
