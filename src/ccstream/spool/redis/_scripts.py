"""The Lua scripts of the Redis store: each write to a spool is one of them, so it is atomic.

Every script takes the spool's keys in :meth:`Keys.all <ccstream.spool.redis._layout.Keys.all>`
order (one hash tag: one Cluster slot). A script that refuses returns an error whose first word
says why (:data:`LOST`, :data:`FENCED`, :data:`OFFSET`, :data:`EXISTS`).

- :data:`CREATE` makes the spool's meta hash and first checkpoints; a retry of the same create
  (same ``token``) is recognised.
- :data:`FLUSH` stores one hand-off of the writer: it checks the writer's **epoch** (a writer
  fenced off by :data:`FENCE` is refused) and that the spool is exactly where this flush starts
  (``seq``, sizes, records: fencing and ordering); a flush whose ``seq`` is already stored is a
  retry and is not stored twice. Then the data entries, the order records, the checkpoints, the
  quota's trims (``XTRIM MINID``) together with the new state holding their gap, and the tick
  that wakes followers.
- :data:`SEAL` records the final state and gives **every** key the retention TTL at once. It
  may run when Redis is out of memory (``allow-oom``): the end of a run that lost output to a
  full Redis is still recorded, with its gap.
- :data:`FENCE` raises the epoch: the writer that held the old one can write no more.

Scripts that write data are refused as a whole under ``maxmemory`` (a script without
``allow-oom`` is refused before it runs), so an out-of-memory flush stores nothing.
"""

from __future__ import annotations

from typing import Final

__all__ = ["CREATE", "EXISTS", "FENCE", "FENCED", "FLUSH", "LOST", "OFFSET", "SEAL"]

LOST: Final = "CCSLOST"
FENCED: Final = "CCSFENCED"
OFFSET: Final = "CCSOFFSET"
EXISTS: Final = "CCSEXISTS"

# KEYS: meta order cp:0 cp:1 head:0 head:1 tail:0 tail:1 tick
# ARGV: token store-epoch segment_size mode argv started_at state first-checkpoint
CREATE: Final = b"""#!lua
local token = redis.call('HGET', KEYS[1], 'token')
if token then
  if token == ARGV[1] then return 0 end
  return redis.error_reply('CCSEXISTS a spool for this key is in Redis already')
end
redis.call('HSET', KEYS[1], 'epoch', '1', 'seq', '0', 'size0', '0', 'size1', '0',
  'records', '0', 'token', ARGV[1], 'store', ARGV[2], 'segment_size', ARGV[3],
  'mode', ARGV[4], 'argv', ARGV[5], 'started_at', ARGV[6], 'state', ARGV[7])
redis.call('SET', KEYS[3], ARGV[8])
redis.call('SET', KEYS[4], ARGV[8])
return 1
"""

# ARGV: epoch seq size0 size1 records | records' size0' size1' state | order cp:0 cp:1 |
#       minid0 minid1 | (target, id, data) per entry, target 5..8 = KEYS index
FLUSH: Final = b"""#!lua
local m = redis.call('HMGET', KEYS[1], 'epoch', 'seq', 'size0', 'size1', 'records')
if not m[1] then
  return redis.error_reply('CCSLOST the spool is not in Redis (removed, or lost by a restart)')
end
if m[1] ~= ARGV[1] then
  return redis.error_reply('CCSFENCED writer epoch ' .. ARGV[1] .. ' is stale: the spool is at '
    .. m[1])
end
if m[2] == ARGV[2] then return 0 end
if tonumber(m[2]) + 1 ~= tonumber(ARGV[2]) or m[3] ~= ARGV[3] or m[4] ~= ARGV[4]
    or m[5] ~= ARGV[5] then
  return redis.error_reply('CCSOFFSET flush ' .. ARGV[2] .. ' starts at ' .. ARGV[3] .. '/'
    .. ARGV[4] .. ' (records ' .. ARGV[5] .. '), the spool is at flush ' .. m[2] .. ', '
    .. m[3] .. '/' .. m[4] .. ' (records ' .. m[5] .. ')')
end
for i = 15, #ARGV, 3 do
  redis.call('XADD', KEYS[tonumber(ARGV[i])], ARGV[i + 1], 'd', ARGV[i + 2])
end
if #ARGV[10] > 0 then redis.call('APPEND', KEYS[2], ARGV[10]) end
if #ARGV[11] > 0 then redis.call('APPEND', KEYS[3], ARGV[11]) end
if #ARGV[12] > 0 then redis.call('APPEND', KEYS[4], ARGV[12]) end
if ARGV[13] ~= '' then redis.call('XTRIM', KEYS[7], 'MINID', ARGV[13]) end
if ARGV[14] ~= '' then redis.call('XTRIM', KEYS[8], 'MINID', ARGV[14]) end
redis.call('HSET', KEYS[1], 'seq', ARGV[2], 'records', ARGV[6], 'size0', ARGV[7],
  'size1', ARGV[8], 'state', ARGV[9])
if ARGV[6] ~= ARGV[5] then
  redis.call('XADD', KEYS[9], 'MAXLEN', '1', ARGV[6] .. '-0', 'r', ARGV[6])
end
return 1
"""

# ARGV: epoch state records ended_at ttl-seconds (0: none)
SEAL: Final = b"""#!lua flags=allow-oom
local m = redis.call('HMGET', KEYS[1], 'epoch', 'ended_at')
if not m[1] then
  return redis.error_reply('CCSLOST the spool is not in Redis (removed, or lost by a restart)')
end
if m[1] ~= ARGV[1] then
  return redis.error_reply('CCSFENCED writer epoch ' .. ARGV[1] .. ' is stale: the spool is at '
    .. m[1])
end
if not m[2] then
  redis.call('HSET', KEYS[1], 'state', ARGV[2], 'ended_at', ARGV[4])
  redis.call('XADD', KEYS[9], 'MAXLEN', '1', ARGV[3] .. '-1', 'r', ARGV[3])
end
if tonumber(ARGV[5]) > 0 then
  for i = 1, #KEYS do redis.call('EXPIRE', KEYS[i], ARGV[5]) end
end
if m[2] then return 0 end
return 1
"""

# ARGV: (none)
FENCE: Final = b"""#!lua flags=allow-oom
if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('CCSLOST the spool is not in Redis (removed, or lost by a restart)')
end
return redis.call('HINCRBY', KEYS[1], 'epoch', 1)
"""
