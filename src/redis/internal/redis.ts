import { createHash } from "node:crypto"
import * as Effect from "effect/Effect"
import type { Redis } from "ioredis"
import { text } from "../../internal/transportOptions.ts"
import * as V from "../../internal/validate.ts"
import { RedisError } from "../errors.ts"

/**
 * Redis plumbing shared by the producer and the consumer: commands as
 * Effects, key names, the partition hash and the Lua scripts that fence
 * every read and acknowledgement with the partition lease.
 *
 * @internal
 */

/** Runs one ioredis command as an Effect that fails with {@link RedisError}. */
export const command = <A>(name: string, run: () => Promise<A>): Effect.Effect<A, RedisError> =>
  Effect.tryPromise({ try: run, catch: (cause) => new RedisError({ command: name, cause }) })

/**
 * FNV-1a, 32 bits, over the key's UTF-16 code units: stable across
 * processes, runtimes and versions, cheap, and spreads short keys well.
 */
export const partitionOf = (key: string, partitions: number): number => {
  let hash = 0x811c9dc5
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return (hash >>> 0) % partitions
}

// `{p}` is a Redis Cluster hash tag: a partition's stream and its leases
// share a slot, so the fencing scripts may touch both.
export const streamKey = (prefix: string, partition: number): string => `${prefix}:{${partition}}`
export const leaseKey = (prefix: string, group: string, partition: number): string =>
  `${prefix}:{${partition}}:${group}:lease`
/** The partition's fence counter: incremented by every lease acquisition, never reset. */
export const fenceKey = (prefix: string, group: string, partition: number): string =>
  `${prefix}:{${partition}}:${group}:fence`
export const membersKey = (prefix: string, group: string): string => `${prefix}:${group}:consumers`
export const deadLetterKey = (prefix: string, group: string): string => `${prefix}:${group}:dead-letter`

/** `partitionOf`, `streamKey` and `deadLetterKey` as the entry point exports them: their arguments checked. */
export const checkedPartitionOf = (key: string, partitions: number): number =>
  partitionOf(text("key", key), V.integerAtLeast("partitions", partitions, 1))
export const checkedStreamKey = (prefix: string, partition: number): string =>
  streamKey(text("prefix", prefix), V.integerAtLeast("partition", partition, 0))
export const checkedDeadLetterKey = (prefix: string, group: string): string =>
  deadLetterKey(text("prefix", prefix), text("group", group))

/** Field names of a stream entry written by `publish`. */
export const KEY_FIELD = "k"
export const ACTION_FIELD = "a"

export interface Script {
  readonly name: string
  readonly lua: string
  readonly sha: string
}

export const script = (name: string, lua: string): Script => ({
  name,
  lua,
  sha: createHash("sha1").update(lua).digest("hex")
})

/** EVALSHA, falling back to EVAL when the server lost its script cache (restart). */
export const runScript = (
  redis: Redis,
  s: Script,
  keys: ReadonlyArray<string>,
  args: ReadonlyArray<string | number>
): Effect.Effect<unknown, RedisError> =>
  command(s.name, async () => {
    try {
      return await redis.evalsha(s.sha, keys.length, ...keys, ...args)
    } catch (error) {
      if (error instanceof Error && error.message.startsWith("NOSCRIPT")) {
        return await redis.eval(s.lua, keys.length, ...keys, ...args)
      }
      throw error
    }
  })

/**
 * KEYS: lease, fence counter. ARGV: token, ttl ms. Takes the lease if it is
 * free and returns the partition's next fencing token (≥ 1, it only grows),
 * or 0 if the lease is held.
 */
export const TAKE: Script = script(
  "take lease",
  `if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return redis.call('INCR', KEYS[2]) end
return 0`
)

/** KEYS: lease. ARGV: token, ttl ms. 1 if renewed, 0 if the lease is not ours. */
export const RENEW: Script = script(
  "renew lease",
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`
)

/** KEYS: lease. ARGV: token. */
export const RELEASE: Script = script(
  "release lease",
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`
)

/** Lua: the group's last delivered ID (`XINFO GROUPS`). */
const LAST_DELIVERED = `local function lastDelivered(stream, group)
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
    local fields = {}
    for i = 1, #g, 2 do fields[g[i]] = g[i + 1] end
    if fields['name'] == group then return fields['last-delivered-id'] end
  end
  return ''
end
`

/**
 * KEYS: lease, stream. ARGV: token, group, consumer, count, last delivered
 * ID as the worker knows it. New entries, or nil when the lease is not ours
 * (a consumer that lost its lease can never take entries away from the next
 * owner), or `"moved"` when the group's read position is not where the
 * worker left it: a read whose reply was lost (a command resent after a
 * reconnect) delivered entries the worker never saw; they are pending and
 * the worker must start over from the pending entries.
 */
export const READ: Script = script(
  "fenced XREADGROUP",
  `${LAST_DELIVERED}if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
if lastDelivered(KEYS[2], ARGV[2]) ~= ARGV[5] then return 'moved' end
local r = redis.call('XREADGROUP', 'GROUP', ARGV[2], ARGV[3], 'COUNT', ARGV[4], 'STREAMS', KEYS[2], '>')
if r then return r[1][2] end
return {}`
)

/**
 * KEYS: lease, stream. ARGV: token, group, consumer, cursor, count. Claims
 * pending entries of any consumer (min idle 0: the lease says their owner has
 * stopped): `{next cursor, entries, group's last delivered ID}`, or nil when
 * the lease is not ours.
 */
export const CLAIM: Script = script(
  "fenced XAUTOCLAIM",
  `${LAST_DELIVERED}if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
local r = redis.call('XAUTOCLAIM', KEYS[2], ARGV[2], ARGV[3], 0, ARGV[4], 'COUNT', ARGV[5])
return {r[1], r[2], lastDelivered(KEYS[2], ARGV[2])}`
)

/**
 * KEYS: lease, stream. ARGV: token, group, ids…. XACK count, or -1 when the
 * lease is not ours. IDs go 500 at a time: Lua's `unpack` is limited to a
 * few thousand values and a chunk may be as large as the window.
 */
export const ACK: Script = script(
  "fenced XACK",
  `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local n = 0
for i = 3, #ARGV, 500 do
  n = n + redis.call('XACK', KEYS[2], ARGV[2], unpack(ARGV, i, math.min(i + 499, #ARGV)))
end
return n`
)

/**
 * KEYS: members. ARGV: consumer, ttl ms. Registers a heartbeat (expiry on
 * the server's clock, so consumers' clocks do not matter), drops expired
 * members, returns how many are alive.
 */
export const HEARTBEAT: Script = script(
  "heartbeat",
  `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return redis.call('ZCARD', KEYS[1])`
)
