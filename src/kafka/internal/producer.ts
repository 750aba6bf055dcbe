import * as Effect from "effect/Effect"
import { Partitioners, type Producer as KafkaProducer } from "kafkajs"
import type { KafkaError } from "../errors.ts"
import type { Producer, ProducerOptions, Published } from "../index.ts"
import * as T from "../../internal/transportOptions.ts"
import * as V from "../../internal/validate.ts"
import { brokerList, call, client } from "./client.ts"

/**
 * Idempotent with one request in flight: a send that KafkaJS retries after a
 * timeout neither duplicates the record nor lets a later one of its key
 * overtake it.
 *
 * @internal
 */
export const PRODUCER_OPTIONS = {
  createPartitioner: Partitioners.DefaultPartitioner,
  idempotent: true,
  maxInFlightRequests: 1
} as const

/** @internal */
export const makeProducer = <A>(options: ProducerOptions): Producer<A> => {
  V.record("options", options)
  const brokers = brokerList("options.brokers", options.brokers)
  const topic = T.text("options.topic", options.topic)
  const clientId = options.clientId === undefined ? "effect-ordered" : T.text("options.clientId", options.clientId)
  const producer: KafkaProducer = client(clientId, brokers).producer(PRODUCER_OPTIONS)
  // Connected on first use, once.
  let connected: Promise<void> | undefined
  const connect = () => (connected ??= producer.connect())
  return {
    publish: (key, action): Effect.Effect<Published, KafkaError> =>
      Effect.suspend(() => {
        const message = { key: T.text("key", key), value: JSON.stringify(action) }
        return call("send", async () => {
          await connect()
          const [meta] = await producer.send({ topic, messages: [message] })
          return { partition: meta.partition, offset: Number(meta.baseOffset) }
        })
      }),
    disconnect: Effect.suspend(() =>
      connected === undefined ? Effect.void : Effect.ignore(call("disconnect", () => producer.disconnect()))
    )
  }
}
