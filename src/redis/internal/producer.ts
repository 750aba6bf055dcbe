import * as Effect from "effect/Effect"
import type { Redis } from "ioredis"
import type { RedisError } from "../errors.ts"
import type { Producer, ProducerOptions } from "../index.ts"
import { ACTION_FIELD, command, KEY_FIELD, partitionOf, streamKey } from "./redis.ts"
import * as V from "./validate.ts"

/** @internal */
export const makeProducer = <A>(options: ProducerOptions): Producer<A> => {
  V.record("options", options)
  const redis = V.client("options.redis", options.redis)
  const prefix = V.nonEmptyString("options.prefix", options.prefix)
  const partitions = V.integerAtLeast("options.partitions", options.partitions, 1)
  const maxLen = V.optionalIntegerAtLeast("options.maxLen", options.maxLen, 1)
  const trim: ReadonlyArray<string | number> = maxLen === undefined ? [] : ["MAXLEN", "~", maxLen]
  return {
    partitionOf: (key) => partitionOf(V.nonEmptyString("key", key), partitions),
    publish: (key, action): Effect.Effect<string, RedisError> =>
      Effect.suspend(() => {
        const stream = streamKey(prefix, partitionOf(V.nonEmptyString("key", key), partitions))
        const payload = JSON.stringify(action)
        return command("XADD", () =>
          (redis as Redis).xadd(stream, ...trim, "*", KEY_FIELD, key, ACTION_FIELD, payload) as Promise<string>)
      })
  }
}
