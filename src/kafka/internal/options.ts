import * as Duration from "effect/Duration"
import * as T from "../../internal/transportOptions.ts"
import type * as Worker from "../../internal/partitionWorker.ts"
import * as V from "../../internal/validate.ts"
import type { ConsumeOptions } from "../index.ts"
import { brokerList } from "./client.ts"
import type * as runtime from "../../internal/runtime.ts"

/** The options with every default filled in: the required ones as given, the rest resolved. @internal */
export interface Resolved<A, B, E1, R1, E2, R2> extends
  Pick<ConsumeOptions<A, B, E1, R1, E2, R2>, "brokers" | "topic" | "group" | "process" | "commit">,
  T.ResolvedWorkerOptions<A, E1>
{
  readonly consumer: string
  readonly order: Worker.OrderBy
  readonly deadLetterTopic: string
  readonly commitInterval: Duration.Duration
  readonly drainTimeout: Duration.Duration
  /** Milliseconds, as KafkaJS takes them. */
  readonly sessionTimeout: number
  readonly heartbeatInterval: number
  readonly rebalanceTimeout: number
  readonly maxWaitTime: number
}

const millis = (path: string, value: unknown, fallback: runtime.DurationInput): number =>
  Duration.toMillis(V.optionalPositiveDuration(path, value) ?? fallback)

/** Validates the options once, up front; throws `Cause.IllegalArgumentException` naming the option. @internal */
export const resolve = <A, B, E1, R1, E2, R2, I>(
  options: ConsumeOptions<A, B, E1, R1, E2, R2, I>
): Resolved<A, B, E1, R1, E2, R2> => {
  const worker = T.resolveWorkerOptions<A, E1>(V.record("options", options))
  const topic = T.text("options.topic", options.topic)
  const group = T.text("options.group", options.group)
  const sessionTimeout = millis("options.sessionTimeout", options.sessionTimeout, "30 seconds")
  const heartbeatInterval = millis("options.heartbeatInterval", options.heartbeatInterval, Math.min(3000, sessionTimeout / 3))
  if (heartbeatInterval >= sessionTimeout) {
    throw V.invalid("options.heartbeatInterval", `below options.sessionTimeout (${sessionTimeout} ms)`, options.heartbeatInterval)
  }
  return {
    ...worker,
    brokers: brokerList("options.brokers", options.brokers),
    topic,
    group,
    consumer: options.consumer === undefined
      ? `${group}-${Math.random().toString(36).slice(2, 10)}`
      : T.text("options.consumer", options.consumer),
    process: V.fn("options.process", options.process),
    commit: V.fn("options.commit", options.commit),
    order: T.resolveOrder(options.order),
    deadLetterTopic: options.deadLetterTopic === undefined
      ? `${topic}.dlq`
      : T.text("options.deadLetterTopic", options.deadLetterTopic),
    commitInterval: V.optionalPositiveDuration("options.commitInterval", options.commitInterval) ?? Duration.millis(50),
    drainTimeout: V.optionalPositiveDuration("options.drainTimeout", options.drainTimeout) ?? Duration.seconds(10),
    sessionTimeout,
    heartbeatInterval,
    rebalanceTimeout: millis("options.rebalanceTimeout", options.rebalanceTimeout, "60 seconds"),
    maxWaitTime: millis("options.maxWaitTime", options.maxWaitTime, "100 millis")
  }
}
