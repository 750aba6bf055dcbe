/**
 * A consumer process for the Redis tests and the benchmark:
 * `node --import tsx test/redis/consumer.ts '<json config>'`. Processes each
 * action with a random latency and commits it into the test sink; SIGTERM
 * or SIGINT stops it gracefully (leases released, group left). Imports
 * single Effect modules only: child start-up time is test time.
 */
import { writeSync } from "node:fs"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { Redis } from "ioredis"
import { type Committed, consume, type Entry } from "../../src/redis/index.ts"
import { type Action, sink } from "./sink.ts"
import { checkLine } from "../utils/child.ts"
import { isInterrupted, line, withLogging } from "../utils/line.ts"

checkLine(line)

export interface ConsumerConfig {
  readonly url: string
  readonly prefix: string
  readonly partitions: number
  readonly group: string
  readonly consumer: string
  readonly sink: string
  readonly concurrency: number
  readonly maxLatencyMs: number
  readonly leaseTtlMs: number
  /** `"each"`: `commit`, one sink call per action; `"batch"`: `commitBatch`, one per released chunk. */
  readonly commit?: "each" | "batch"
  /** Commits go through the fenced sink script (refused when stale). */
  readonly fenced?: boolean
}

const config: ConsumerConfig = JSON.parse(process.argv[2])
const redis = new Redis(config.url)
const applied = sink(redis, config.sink)

/** CPU time used from the first action on (start-up, compilation and idle waiting before it left out). */
let busySince: NodeJS.CpuUsage | undefined

const fiber = Effect.runFork(
  consume({
    redis,
    prefix: config.prefix,
    partitions: config.partitions,
    group: config.group,
    consumer: config.consumer,
    concurrency: config.concurrency,
    leaseTtl: config.leaseTtlMs,
    pollInterval: "20 millis",
    process: (action: Action) =>
      Effect.suspend(() => {
        busySince ??= process.cpuUsage()
        return Effect.as(Effect.sleep(Math.random() * config.maxLatencyMs), action.seq)
      }),
    ...(config.commit === "batch"
      ? {
        commitBatch: (committed: ReadonlyArray<Committed<Action, number>>) => {
          const writes = committed.map(({ entry, result }) => ({ key: entry.key, seq: result }))
          return config.fenced
            ? applied.applyFenced(writes, committed[0].entry)
            : Effect.promise(() => applied.applyUnfenced(writes))
        }
      }
      : {
        commit: (seq: number, _action: Action, entry: Entry) =>
          config.fenced
            ? applied.applyFenced([{ key: entry.key, seq }], entry)
            : Effect.promise(() => applied.apply(entry.key, seq))
      })
  }).pipe(
    Effect.ensuring(Effect.promise(() => redis.quit())),
    withLogging({ minimum: process.env.CONSUMER_DEBUG ? "Debug" : "Info" })
  )
)

const stop = () => Effect.runFork(Fiber.interrupt(fiber))
process.once("SIGTERM", stop)
process.once("SIGINT", stop)
fiber.addObserver((exit) => {
  // For the benchmark: written synchronously, the process exits right after.
  if (busySince !== undefined) {
    const { system, user } = process.cpuUsage(busySince)
    writeSync(1, `busy-cpu-us ${user + system}\n`)
  }
  process.exit(Exit.isFailure(exit) && !isInterrupted(exit) ? 1 : 0)
})
