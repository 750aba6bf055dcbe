/** Consumers run as fibers of the test process, each with its own client. */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import { Redis } from "ioredis"
import { type ConsumeOptions, consume } from "../../src/redis/index.ts"
import { withLogging } from "../utils/line.ts"

export interface Running {
  readonly redis: Redis
  readonly fiber: Fiber.RuntimeFiber<never>
  /** What the consumer logged at warning level and above (why partitions stopped). */
  readonly warnings: () => ReadonlyArray<string>
  /** Graceful stop: interrupts the consumer (its leases are released) and closes its client. */
  readonly stop: () => Promise<void>
}

export const runConsumer = <A, B, E1, E2, I = unknown>(
  url: string,
  options: (redis: Redis) => Omit<ConsumeOptions<A, B, E1, never, E2, never, I>, "redis">
): Running => {
  const redis = new Redis(url)
  // Connection errors are expected (the restart test); the consumer logs and retries.
  redis.on("error", () => undefined)
  const warnings: Array<string> = []
  const recorder = Logger.make(({ message }) => {
    warnings.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
  })
  const fiber = Effect.runFork(
    consume({ redis, ...options(redis) }).pipe(
      // Recorded, and printed too when debugging.
      withLogging({
        logger: recorder,
        replace: !process.env.CONSUMER_DEBUG,
        minimum: process.env.CONSUMER_DEBUG ? "Debug" : "Warning"
      })
    )
  )
  return {
    redis,
    fiber,
    warnings: () => warnings,
    stop: async () => {
      await Effect.runPromise(Fiber.interrupt(fiber))
      redis.disconnect()
    }
  }
}
