import * as Effect from "effect/Effect"
import { Kafka, logLevel } from "kafkajs"
import { KafkaError } from "../errors.ts"
import * as V from "../../internal/validate.ts"

/** @internal */
export const call = <A>(operation: string, run: () => Promise<A>): Effect.Effect<A, KafkaError> =>
  Effect.tryPromise({ try: run, catch: (cause) => new KafkaError({ operation, cause }) })

/**
 * A KafkaJS client. Its own log lines are dropped: what matters surfaces as
 * `KafkaError`s and as this package's Effect logs.
 *
 * @internal
 */
export const client = (clientId: string, brokers: ReadonlyArray<string>): Kafka =>
  new Kafka({ clientId, brokers: [...brokers], logLevel: logLevel.NOTHING, retry: { retries: 8 } })

/** @internal */
export const brokerList = (path: string, value: unknown): ReadonlyArray<string> => {
  if (Array.isArray(value) && value.length > 0 && value.every((b) => typeof b === "string" && /^[^:\s]+:\d+$/.test(b))) {
    return value
  }
  throw V.invalid(path, "a non-empty array of \"host:port\" strings", value)
}
