/**
 * The idempotent sink the Redis tests and the benchmark commit into: per
 * key, the last applied sequence number. A commit of `last + 1` applies; one
 * at or below `last` is a duplicate (counted, ignored); one above `last + 1`
 * means an action of the key was skipped or committed out of order (counted
 * as a gap and recorded, the test fails on it).
 *
 * Each write carries the fence it was made under (0: none). Per key, the
 * sink remembers the highest fence that reached it: a write with a lower
 * one is a stale owner's write landing after the new owner's (counted as
 * `stale` and recorded). `applyFenced` guards the same script with
 * `fencedScript`, so such a write is refused before it reaches the body.
 *
 * Per key it also keeps the last write that reached it, whatever it was
 * (`written`: fence and sequence number, last writer wins, as a sink
 * without idempotence would store it): `sampleWrites` watches it move.
 */
import * as Effect from "effect/Effect"
import type { Redis } from "ioredis"
import { type Entry, fencedScript, type RedisError, type StaleFenceError } from "../../src/redis/index.ts"

// KEYS: last, stats, log, fences, written. ARGV: fence, then key, seq pairs. One call applies a whole batch.
const APPLY = `local fence = tonumber(ARGV[1])
for i = 2, #ARGV, 2 do
  local key, seq = ARGV[i], tonumber(ARGV[i + 1])
  redis.call('HSET', KEYS[5], key, fence .. ' ' .. seq)
  local seen = tonumber(redis.call('HGET', KEYS[4], key) or '0')
  if fence < seen then
    redis.call('HINCRBY', KEYS[2], 'stale', 1)
    redis.call('RPUSH', KEYS[3], key .. ': fence ' .. fence .. ' after ' .. seen)
  elseif fence > seen then
    redis.call('HSET', KEYS[4], key, fence)
  end
  local last = tonumber(redis.call('HGET', KEYS[1], key) or '0')
  if seq == last + 1 then
    redis.call('HSET', KEYS[1], key, seq)
    redis.call('HINCRBY', KEYS[2], 'applied', 1)
  elseif seq <= last then
    redis.call('HINCRBY', KEYS[2], 'duplicates', 1)
  else
    redis.call('HINCRBY', KEYS[2], 'gaps', 1)
    redis.call('RPUSH', KEYS[3], key .. ': ' .. last .. ' -> ' .. seq)
  end
end
return 1`

const fencedApply = fencedScript(APPLY)

export interface Action {
  readonly seq: number
  /** Process fails this many times before it succeeds (or always, with -1). */
  readonly failures?: number
}

export const sink = (redis: Redis, name: string) => {
  const keys = [`${name}:last`, `${name}:stats`, `${name}:log`, `${name}:fences`, `${name}:written`]
  const pairs = (writes: ReadonlyArray<{ readonly key: string; readonly seq: number }>) =>
    writes.flatMap(({ key, seq }) => [key, seq])
  const applyUnfenced = (writes: ReadonlyArray<{ readonly key: string; readonly seq: number }>): Promise<unknown> =>
    redis.eval(APPLY, keys.length, ...keys, 0, ...pairs(writes))
  return {
    /** Unfenced writes in one script call. */
    applyUnfenced,
    /** One unfenced write. */
    apply: (key: string, seq: number): Promise<unknown> => applyUnfenced([{ key, seq }]),
    /** Writes of one partition made under `entry.fence`, in one fenced script call; refused if stale. */
    applyFenced: (
      writes: ReadonlyArray<{ readonly key: string; readonly seq: number }>,
      entry: Entry
    ): Effect.Effect<void, StaleFenceError | RedisError> =>
      Effect.asVoid(fencedApply(redis, {
        fenceKey: `${name}:fence:{${entry.partition}}`,
        fence: entry.fence,
        keys,
        args: [entry.fence, ...pairs(writes)]
      })).pipe(
        Effect.tapErrorTag("StaleFenceError", () => Effect.promise(() => redis.hincrby(keys[1], "refused", 1)))
      ),
    stats: async () => {
      const stats = await redis.hgetall(keys[1])
      return {
        applied: Number(stats.applied ?? 0),
        duplicates: Number(stats.duplicates ?? 0),
        gaps: Number(stats.gaps ?? 0),
        /** Writes that reached the sink with a fence below one the key had seen. */
        stale: Number(stats.stale ?? 0),
        /** Fenced writes refused as stale. */
        refused: Number(stats.refused ?? 0),
        log: await redis.lrange(keys[2], 0, 20)
      }
    },
    last: async (): Promise<Record<string, number>> =>
      Object.fromEntries(Object.entries(await redis.hgetall(keys[0])).map(([k, v]) => [k, Number(v)])),
    /**
     * Samples every key's last write (its fence and sequence number) until
     * `stop`, and reports each move backwards: to a lower fence (a stale
     * owner's write landing after a newer owner's), or under the same
     * fence to a lower sequence number (a key's commits out of order). A new
     * owner re-committing what its predecessor committed and did not
     * acknowledge raises the fence: that is a move forwards.
     */
    sampleWrites: (everyMs: number) => {
      const seen = new Map<string, { fence: number; seq: number }>()
      const backwards: Array<string> = []
      let samples = 0
      let running = true
      const sample = async () => {
        for (const [key, value] of Object.entries(await redis.hgetall(keys[4]))) {
          const [fence, seq] = value.split(" ").map(Number)
          const before = seen.get(key)
          if (before !== undefined && (fence < before.fence || (fence === before.fence && seq < before.seq))) {
            backwards.push(`${key}: fence ${before.fence} seq ${before.seq} -> fence ${fence} seq ${seq}`)
          }
          seen.set(key, { fence, seq })
        }
        samples++
      }
      const loop = (async () => {
        while (running) {
          await sample()
          await new Promise((resolve) => setTimeout(resolve, everyMs))
        }
        await sample()
      })()
      return {
        /** Stops sampling (after one last sample); what was seen. */
        stop: async () => {
          running = false
          await loop
          return { samples, backwards }
        }
      }
    }
  }
}

/**
 * `count` actions over `keys` keys in an interleaving drawn from `random`
 * (seeded in the Redis tests, see fixture.ts); per key, `seq` counts from 1.
 */
export const workload = (count: number, keys: number, random: () => number = Math.random) => {
  const seqs = new Map<string, number>()
  const actions: Array<{ key: string; action: Action }> = []
  for (let i = 0; i < count; i++) {
    const key = `key-${Math.floor(random() * keys)}`
    const seq = (seqs.get(key) ?? 0) + 1
    seqs.set(key, seq)
    actions.push({ key, action: { seq } })
  }
  return { actions, expected: Object.fromEntries(seqs) as Record<string, number> }
}
