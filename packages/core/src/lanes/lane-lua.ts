/**
 * Lua shared by the lane scripts (the gateway's append, the worker's advance and sweep), so the
 * entry format, the key names and the way a job is made runnable exist once. Each script puts
 * this text first; it defines locals only.
 *
 * `release` is the tail of BullMQ's `addStandardJob` for a job with no delay and no priority:
 * LPUSH on `wait`, the `waiting` event, and the worker marker unless the queue is paused or at
 * its global concurrency (`isQueuePausedOrMaxed` + `addBaseMarkerIfNeeded`). The conformance test
 * of the update writer pins it against `Queue.add`.
 */
export const LANE_LUA = `
local rcall = redis.call
local function laneList(prefix, member, queue) return prefix .. ':lane:' .. member .. ':' .. queue end
local function laneSeq(prefix, member) return prefix .. ':lane:' .. member .. ':seq' end
local function parseEntry(entry)
  local seq, acceptedAt, jobId = string.match(entry, '^(%d+)|(%d+)|(.+)$')
  return tonumber(seq), acceptedAt, jobId
end
local function maxEventsOf(metaKey)
  local maxEvents = rcall('HGET', metaKey, 'opts.maxLenEvents')
  if not maxEvents then
    maxEvents = 10000
    rcall('HSET', metaKey, 'opts.maxLenEvents', maxEvents)
  end
  return maxEvents
end
local function pausedOrMaxed(metaKey, activeKey)
  local attributes = rcall('HMGET', metaKey, 'paused', 'concurrency')
  if attributes[1] ~= false then return true end
  if attributes[2] then return rcall('LLEN', activeKey) >= tonumber(attributes[2]) end
  return false
end
-- q: { wait, meta, events, marker, active } keys of the job's queue
local function release(q, jobId, maxEvents, wake)
  rcall('LPUSH', q.wait, jobId)
  rcall('XADD', q.events, 'MAXLEN', '~', maxEvents, '*', 'event', 'waiting', 'jobId', jobId)
  if wake and not pausedOrMaxed(q.meta, q.active) then rcall('ZADD', q.marker, 0, '0') end
end
local function decrParked(parkedKey)
  if rcall('DECR', parkedKey) <= 0 then rcall('DEL', parkedKey) end
end
`;
