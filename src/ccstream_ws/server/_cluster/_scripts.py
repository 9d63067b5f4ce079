"""The registry's Lua scripts: each a check and its effect in one step, so two nodes never both
act (only one finalises a lapsed execution; a node that lost its lease does not renew it)."""

from __future__ import annotations

__all__ = ["END", "FINALISE", "RENEW"]

EVENTS_KEPT = 256
"""Events an execution's stream keeps (``MAXLEN ~``): control notices and the end."""

RENEW = """
-- KEYS: lease, exec. ARGV: node, lease ms, node token, then the progress fields and values.
local holder = redis.call('GET', KEYS[1])
if holder ~= ARGV[1] then
  -- Lapsed but not finalised (the node was only late): take it again; else it is lost.
  if holder or redis.call('HGET', KEYS[2], 'state') ~= 'running'
     or redis.call('HGET', KEYS[2], 'token') ~= ARGV[3] then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if #ARGV > 3 then redis.call('HSET', KEYS[2], unpack(ARGV, 4)) end
return 1
"""
"""Renew the owner's lease (taking it again when it lapsed while the execution was still
running) and record its progress; 0 when the execution is not this node's any more (another
node finalised it, or Redis lost it)."""

END = f"""
-- KEYS: lease, exec, events. ARGV: node, result JSON, time, ttl ms.
if redis.call('HGET', KEYS[2], 'state') ~= 'running' then return 0 end
if redis.call('HGET', KEYS[2], 'node') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[2], 'state', 'ended', 'result', ARGV[2], 'ended_at', ARGV[3])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', {EVENTS_KEPT}, '*', 'kind', 'ended')
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('PEXPIRE', KEYS[3], ARGV[4])
return 1
"""
"""The owner records how its run ended; 0 when another node finalised it first."""

FINALISE = f"""
-- KEYS: lease, exec, events. ARGV: finalising node, time, ttl ms.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('HGET', KEYS[2], 'state') ~= 'running' then return 0 end
redis.call('HSET', KEYS[2], 'state', 'ended', 'lost', ARGV[1], 'ended_at', ARGV[2])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', {EVENTS_KEPT}, '*', 'kind', 'ended')
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
return 1
"""
"""Finalise a running execution whose lease ran out as ``node_lost``; 1 for the one node that
did it, 0 for every other (and while the lease holds)."""
