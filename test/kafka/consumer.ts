/**
 * A consumer process for the Kafka tests and the benchmark:
 * `node --import tsx test/kafka/consumer.ts '<json config>'`. Processes each
 * action with a random latency and appends every commit to the sink file
 * (test/kafka/sink.ts); SIGTERM or SIGINT stops it gracefully (drain,
 * commit, leave the group).
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { consume } from "../../src/kafka/index.ts"
import { type Action, appendCommit } from "./sink.ts"

export interface ConsumerConfig {
  readonly brokers: ReadonlyArray<string>
  readonly topic: string
  readonly group: string
  readonly consumer: string
  /** The file every commit is appended to. */
  readonly sink: string
  readonly concurrency: number
  readonly maxLatencyMs: number
  readonly sessionTimeoutMs: number
  readonly commitIntervalMs: number
}

const config: ConsumerConfig = JSON.parse(process.argv[2])

const fiber = Effect.runFork(
  consume({
    brokers: config.brokers,
    topic: config.topic,
    group: config.group,
    consumer: config.consumer,
    concurrency: config.concurrency,
    sessionTimeout: config.sessionTimeoutMs,
    heartbeatInterval: Math.floor(config.sessionTimeoutMs / 6),
    commitInterval: config.commitIntervalMs,
    drainTimeout: config.sessionTimeoutMs,
    process: (action: Action) => Effect.as(Effect.sleep(Math.random() * config.maxLatencyMs), action.seq),
    commit: (seq, _action, record) => Effect.sync(() => appendCommit(config.sink, config.consumer, record, seq))
  }).pipe(Logger.withMinimumLogLevel(process.env.CONSUMER_DEBUG ? LogLevel.Debug : LogLevel.Info))
)

const stop = () => Effect.runFork(Fiber.interrupt(fiber))
process.once("SIGTERM", stop)
process.once("SIGINT", stop)
fiber.addObserver((exit) => process.exit(Exit.isFailure(exit) && !Exit.isInterrupted(exit) ? 1 : 0))
