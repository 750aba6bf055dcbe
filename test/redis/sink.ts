/**
 * The idempotent sink the Redis tests commit into: per key, the last applied
 * sequence number. A commit of `last + 1` applies; one at or below `last` is
 * a duplicate (counted, ignored); one above `last + 1` means an action of the
 * key was skipped or committed out of order (counted as a gap and recorded,
 * the test fails on it).
 */
import type { Redis } from "ioredis"

const APPLY = `local last = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local seq = tonumber(ARGV[2])
if seq == last + 1 then
  redis.call('HSET', KEYS[1], ARGV[1], seq)
  redis.call('HINCRBY', KEYS[2], 'applied', 1)
  return 1
elseif seq <= last then
  redis.call('HINCRBY', KEYS[2], 'duplicates', 1)
  return 0
end
redis.call('HINCRBY', KEYS[2], 'gaps', 1)
redis.call('RPUSH', KEYS[3], ARGV[1] .. ': ' .. last .. ' -> ' .. seq)
return -1`

export interface Action {
  readonly seq: number
  /** Process fails this many times before it succeeds (or always, with -1). */
  readonly failures?: number
}

export const sink = (redis: Redis, name: string) => {
  const keys = [`${name}:last`, `${name}:stats`, `${name}:gaps`]
  return {
    apply: (key: string, seq: number): Promise<unknown> => redis.eval(APPLY, 3, ...keys, key, seq),
    stats: async () => {
      const stats = await redis.hgetall(keys[1])
      return {
        applied: Number(stats.applied ?? 0),
        duplicates: Number(stats.duplicates ?? 0),
        gaps: Number(stats.gaps ?? 0),
        gapLog: await redis.lrange(keys[2], 0, 20)
      }
    },
    last: async (): Promise<Record<string, number>> =>
      Object.fromEntries(Object.entries(await redis.hgetall(keys[0])).map(([k, v]) => [k, Number(v)]))
  }
}

/** `count` actions over `keys` keys in a random interleaving; per key, `seq` counts from 1. */
export const workload = (count: number, keys: number) => {
  const seqs = new Map<string, number>()
  const actions: Array<{ key: string; action: Action }> = []
  for (let i = 0; i < count; i++) {
    const key = `key-${Math.floor(Math.random() * keys)}`
    const seq = (seqs.get(key) ?? 0) + 1
    seqs.set(key, seq)
    actions.push({ key, action: { seq } })
  }
  return { actions, expected: Object.fromEntries(seqs) as Record<string, number> }
}
