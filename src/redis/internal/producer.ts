import * as Effect from "effect/Effect"
import type { Redis } from "ioredis"
import { text } from "../../internal/transportOptions.ts"
import type { RedisError } from "../errors.ts"
import type { Producer, ProducerOptions } from "../index.ts"
import { ACTION_FIELD, command, KEY_FIELD, partitionOf, streamKey } from "./redis.ts"
import * as V from "./validate.ts"

/**
 * The action as JSON text: what `JSON.stringify` cannot encode (`undefined`,
 * a function, a symbol, a BigInt, a cycle) is refused here rather than sent
 * as an entry without an action, which every consumer would dead-letter.
 */
const encode = (action: unknown): string => {
  let json: string | undefined
  try {
    json = JSON.stringify(action)
  } catch (error) {
    throw V.invalid("action", `a value JSON can encode (${(error as Error).message})`, action)
  }
  if (json === undefined) throw V.invalid("action", "a value JSON can encode", action)
  return json
}

/** @internal */
export const makeProducer = <A>(options: ProducerOptions): Producer<A> => {
  V.record("options", options)
  const redis = V.client("options.redis", options.redis)
  const prefix = text("options.prefix", options.prefix)
  const partitions = V.integerAtLeast("options.partitions", options.partitions, 1)
  const maxLen = V.optionalIntegerAtLeast("options.maxLen", options.maxLen, 1)
  const trim: ReadonlyArray<string | number> = maxLen === undefined ? [] : ["MAXLEN", "~", maxLen]
  return {
    partitionOf: (key) => partitionOf(text("key", key), partitions),
    publish: (key, action): Effect.Effect<string, RedisError> =>
      Effect.suspend(() => {
        const stream = streamKey(prefix, partitionOf(text("key", key), partitions))
        const payload = encode(action)
        return command("XADD", () =>
          (redis as Redis).xadd(stream, ...trim, "*", KEY_FIELD, key, ACTION_FIELD, payload) as Promise<string>)
      })
  }
}
