/**
 * The Redis test files' fixture: one real `redis-server` per file with a
 * client to it, the consumers a test starts (child processes or in-process
 * fibers) stopped after the file's tests, and a seeded `random` for the
 * workloads, reset to the seed before each test and printed when one fails
 * (replay with `REDIS_TEST_SEED=<seed>`).
 *
 * `server` and `redis` are live bindings: set by `useRedis`'s `beforeAll`.
 */
import { afterAll, beforeAll, beforeEach } from "@effect/vitest"
import { Redis } from "ioredis"
import { mulberry32 } from "../../src/internal/random.ts"
import { type Child, spawnConsumer } from "./children.ts"
import type { ConsumerConfig } from "./consumer.ts"
import { runConsumer, type Running } from "./inprocess.ts"
import { type RedisServer, startRedis } from "./server.ts"
import { line } from "../utils/line.ts"

export let server: RedisServer
export let redis: Redis

const seed = Number(process.env.REDIS_TEST_SEED ?? Math.floor(Math.random() * 2 ** 32))
let generator = mulberry32(seed)
/** Uniform in [0, 1), from the file's seed. */
export const random = (): number => generator()

const children: Array<Child> = []
const running: Array<Running> = []

/** Registers the file's server, client and clean-up. `persistent`: an append-only file (the restart test). */
export const useRedis = (options: { readonly persistent?: boolean } = {}): void => {
  beforeAll(async () => {
    server = await startRedis(options)
    redis = new Redis(server.url, { enableAutoPipelining: true })
    // A restart or a stopped server makes the client emit errors; the commands' own failures surface them.
    redis.on("error", () => undefined)
  })
  beforeEach(({ onTestFailed }) => {
    generator = mulberry32(seed)
    onTestFailed(() => console.error(`replay this test's draws with REDIS_TEST_SEED=${seed}`))
  })
  afterAll(async () => {
    await Promise.all(running.splice(0).map((r) => r.stop()))
    for (const child of children) {
      child.process.kill("SIGCONT")
      child.process.kill("SIGKILL")
    }
    await Promise.all(children.splice(0).map((child) => child.exited))
    redis?.disconnect()
    await server?.stop()
  })
}

/** A consumer process (test/redis/consumer.ts) on the project's Effect line, killed after the file's tests. */
export const spawn = (config: ConsumerConfig): Child => {
  const child = spawnConsumer(config, line)
  children.push(child)
  return child
}

/** The consumer processes started so far, for diagnostics. */
export const spawned = (): ReadonlyArray<Child> => children

/** An in-process consumer, stopped after the file's tests (a test may stop it earlier). */
export const run: typeof runConsumer = (url, options) => {
  const r = runConsumer(url, options)
  running.push(r)
  return r
}
