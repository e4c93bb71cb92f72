-- A successor gives a dead node's service address back: its recovered calls have all ended.
-- KEYS: 1 tandem:claim:<dead>. ARGV: 1 successor. Deletes the claim only if it is still ours.
if redis.call('HGET', KEYS[1], 'by') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
