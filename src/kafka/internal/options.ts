import type * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Worker from "../../internal/partitionWorker.ts"
import * as V from "../../internal/validate.ts"
import type { ConsumeOptions } from "../index.ts"
import { brokerList, nonEmptyString } from "./client.ts"

/** The options with every default filled in: the required ones as given, the rest resolved. @internal */
export interface Resolved<A, B, E1, R1, E2, R2> extends
  Pick<
    ConsumeOptions<A, B, E1, R1, E2, R2>,
    "brokers" | "topic" | "group" | "process" | "commit" | "concurrency"
  >
{
  readonly consumer: string
  readonly window: number
  readonly order: Worker.OrderBy
  readonly decode: (value: string) => Effect.Effect<A, unknown>
  readonly retry: Schedule.Schedule<unknown, E1 | Cause.TimeoutException, never>
  readonly timeout: Duration.Duration | undefined
  readonly poison: Worker.PoisonPolicy
  readonly deadLetterTopic: string
  readonly commitInterval: Duration.Duration
  readonly drainTimeout: Duration.Duration
  /** Milliseconds, as KafkaJS takes them. */
  readonly sessionTimeout: number
  readonly heartbeatInterval: number
  readonly rebalanceTimeout: number
  readonly maxWaitTime: number
}

const DEFAULT_RETRY: Schedule.Schedule<unknown, unknown> = Schedule.intersect(
  Schedule.exponential("100 millis"),
  Schedule.recurs(4)
)

/** Validates the options once, up front; throws `Cause.IllegalArgumentException` naming the option. @internal */
export const resolve = <A, B, E1, R1, E2, R2, I>(
  options: ConsumeOptions<A, B, E1, R1, E2, R2, I>
): Resolved<A, B, E1, R1, E2, R2> => {
  V.record("options", options)
  const millis = (path: string, value: unknown, fallback: Duration.DurationInput): number =>
    Duration.toMillis(V.optionalPositiveDuration(path, value) ?? fallback)
  const concurrency = V.integerAtLeast("options.concurrency", options.concurrency, 1)
  const topic = nonEmptyString("options.topic", options.topic)
  const group = nonEmptyString("options.group", options.group)
  if (options.retry !== undefined && !Schedule.isSchedule(options.retry)) {
    throw V.invalid("options.retry", "a Schedule", options.retry)
  }
  if (options.schema !== undefined && !Schema.isSchema(options.schema)) {
    throw V.invalid("options.schema", "a Schema", options.schema)
  }
  const schema = options.schema
  const sessionTimeout = millis("options.sessionTimeout", options.sessionTimeout, "30 seconds")
  const heartbeatInterval = millis("options.heartbeatInterval", options.heartbeatInterval, Math.min(3000, sessionTimeout / 3))
  if (heartbeatInterval >= sessionTimeout) {
    throw V.invalid("options.heartbeatInterval", `below options.sessionTimeout (${sessionTimeout} ms)`, options.heartbeatInterval)
  }
  const parse = (value: string) => Effect.try(() => JSON.parse(value) as unknown)
  return {
    brokers: brokerList("options.brokers", options.brokers),
    topic,
    group,
    consumer: options.consumer === undefined
      ? `${group}-${Math.random().toString(36).slice(2, 10)}`
      : nonEmptyString("options.consumer", options.consumer),
    process: V.fn("options.process", options.process),
    commit: V.fn("options.commit", options.commit),
    concurrency,
    window: options.window === undefined
      ? 3 * concurrency
      : V.integerAtLeast("options.window", options.window, concurrency, `an integer ≥ concurrency (${concurrency})`),
    order: options.order === undefined ? "key" : V.oneOf("options.order", options.order, ["key", "partition", "none"]),
    decode: schema === undefined
      ? (value) => parse(value) as Effect.Effect<A, unknown>
      : (value) => Effect.flatMap(parse(value), Schema.decodeUnknown(schema)),
    retry: options.retry ?? DEFAULT_RETRY,
    timeout: V.optionalPositiveDuration("options.timeout", options.timeout),
    poison: options.poison === undefined ? "dead-letter" : V.oneOf("options.poison", options.poison, ["dead-letter", "halt-key"]),
    deadLetterTopic: options.deadLetterTopic === undefined
      ? `${topic}.dlq`
      : nonEmptyString("options.deadLetterTopic", options.deadLetterTopic),
    commitInterval: V.optionalPositiveDuration("options.commitInterval", options.commitInterval) ?? Duration.millis(100),
    drainTimeout: V.optionalPositiveDuration("options.drainTimeout", options.drainTimeout) ?? Duration.seconds(10),
    sessionTimeout,
    heartbeatInterval,
    rebalanceTimeout: millis("options.rebalanceTimeout", options.rebalanceTimeout, "60 seconds"),
    maxWaitTime: millis("options.maxWaitTime", options.maxWaitTime, "100 millis")
  }
}
