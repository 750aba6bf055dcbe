/** Consumer child processes (test/redis/consumer.ts) and what the tests observe in Redis. */
import type { Redis } from "ioredis"
import { type Child, spawnScript } from "../utils/child.ts"
import type { ConsumerConfig } from "./consumer.ts"

export type { Child } from "../utils/child.ts"

/** A consumer process on Effect `line` (the caller's). */
export const spawnConsumer = (config: ConsumerConfig, line: 3 | 4): Child =>
  spawnScript(config.consumer, "test/redis/consumer.ts", config, line)

/** Partition → the consumer holding its lease (or null). */
export const leaseHolders = async (
  redis: Redis,
  prefix: string,
  group: string,
  partitions: number
): Promise<Array<string | null>> => {
  const keys = Array.from({ length: partitions }, (_, p) => `${prefix}:{${p}}:${group}:lease`)
  const values = await redis.mget(keys)
  return values.map((v) => (v === null ? null : v.split("/")[0]))
}

export const countBy = (holders: ReadonlyArray<string | null>): Record<string, number> => {
  const counts: Record<string, number> = {}
  for (const h of holders) if (h !== null) counts[h] = (counts[h] ?? 0) + 1
  return counts
}

/** Entries of every partition that are not yet delivered (lag) or delivered and not acknowledged (pending). */
export const outstanding = async (redis: Redis, prefix: string, group: string, partitions: number): Promise<number> => {
  let total = 0
  for (let p = 0; p < partitions; p++) {
    const groups = (await redis.xinfo("GROUPS", `${prefix}:{${p}}`)) as Array<Array<string | number>>
    const info = groups.map((g) => Object.fromEntries(chunk2(g))).find((g) => g.name === group)
    if (info === undefined) return Infinity
    total += Number(info.pending) + Number(info.lag)
  }
  return total
}

/** `[a, 1, b, 2]` as `[[a, 1], [b, 2]]`: a Redis reply of fields and values. */
export const chunk2 = (list: ReadonlyArray<string | number>): Array<[string | number, string | number]> => {
  const out: Array<[string | number, string | number]> = []
  for (let i = 0; i + 1 < list.length; i += 2) out.push([list[i], list[i + 1]])
  return out
}
