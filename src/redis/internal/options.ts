import type * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { DEFAULT_WINDOW_FACTOR } from "../../internal/options.ts"
import type { PoisonPolicy } from "../../internal/partitionWorker.ts"
import type { Committed, ConsumeOptions, Entry } from "../index.ts"
import { deadLetterKey } from "./redis.ts"
import * as V from "./validate.ts"

/** The options with every default filled in: the required ones as given, the rest resolved. @internal */
export interface Resolved<A, B, E1, R1, E2, R2> extends
  Pick<
    ConsumeOptions<A, B, E1, R1, E2, R2>,
    "redis" | "prefix" | "partitions" | "group" | "consumer" | "process" | "concurrency"
  >
{
  readonly window: number
  readonly batchSize: number
  /** Milliseconds. */
  readonly leaseTtl: number
  readonly pollInterval: Duration.Duration
  readonly retry: Schedule.Schedule<unknown, E1 | Cause.TimeoutException, never>
  readonly timeout: Duration.Duration | undefined
  readonly poison: PoisonPolicy
  readonly deadLetter: string
  /** Exactly one of the two is given. */
  readonly commit:
    | { readonly _tag: "each"; readonly commit: (result: B, action: A, entry: Entry) => Effect.Effect<void, E2, R2> }
    | { readonly _tag: "batch"; readonly commit: (committed: ReadonlyArray<Committed<A, B>>) => Effect.Effect<void, E2, R2> }
  /** JSON text to action: `JSON.parse`, then the schema's decoding if there is one. */
  readonly decode: (json: unknown) => Effect.Effect<A, unknown>
}

const DEFAULT_RETRY: Schedule.Schedule<unknown, unknown> = Schedule.intersect(
  Schedule.exponential("100 millis"),
  Schedule.recurs(4)
)

const resolveCommit = <A, B, E2, R2>(
  options: Pick<ConsumeOptions<A, B, unknown, unknown, E2, R2>, "commit" | "commitBatch">
): Resolved<A, B, unknown, unknown, E2, R2>["commit"] => {
  if (options.commit !== undefined && options.commitBatch !== undefined) {
    throw V.invalid("options.commitBatch", "undefined when `options.commit` is given (one of the two)", options.commitBatch)
  }
  if (options.commitBatch !== undefined) return { _tag: "batch", commit: V.fn("options.commitBatch", options.commitBatch) }
  return { _tag: "each", commit: V.fn("options.commit", options.commit) }
}

/** Validates the options once, up front; throws `Cause.IllegalArgumentException` naming the option. @internal */
export const resolve = <A, B, E1, R1, E2, R2, I>(
  options: ConsumeOptions<A, B, E1, R1, E2, R2, I>
): Resolved<A, B, E1, R1, E2, R2> => {
  V.record("options", options)
  const concurrency = V.integerAtLeast("options.concurrency", options.concurrency, 1)
  const window = options.window === undefined
    ? DEFAULT_WINDOW_FACTOR * concurrency
    : V.integerAtLeast("options.window", options.window, concurrency, `an integer ≥ concurrency (${concurrency})`)
  const prefix = V.nonEmptyString("options.prefix", options.prefix)
  const group = V.nonEmptyString("options.group", options.group)
  if (options.retry !== undefined && !Schedule.isSchedule(options.retry)) {
    throw V.invalid("options.retry", "a Schedule", options.retry)
  }
  if (options.schema !== undefined && !Schema.isSchema(options.schema)) {
    throw V.invalid("options.schema", "a Schema", options.schema)
  }
  const decodeSchema = options.schema === undefined ? undefined : Schema.decodeUnknown(options.schema)
  return {
    redis: V.client("options.redis", options.redis),
    prefix,
    partitions: V.integerAtLeast("options.partitions", options.partitions, 1),
    group,
    consumer: V.nonEmptyString("options.consumer", options.consumer),
    process: V.fn("options.process", options.process),
    commit: resolveCommit(options),
    concurrency,
    window,
    batchSize: V.optionalIntegerAtLeast("options.batchSize", options.batchSize, 1) ?? window,
    leaseTtl: Duration.toMillis(V.optionalPositiveDuration("options.leaseTtl", options.leaseTtl) ?? Duration.seconds(10)),
    pollInterval: V.optionalPositiveDuration("options.pollInterval", options.pollInterval) ?? Duration.millis(100),
    retry: options.retry ?? DEFAULT_RETRY,
    timeout: V.optionalPositiveDuration("options.timeout", options.timeout),
    poison: options.poison === undefined ? "dead-letter" : V.oneOf("options.poison", options.poison, ["dead-letter", "halt-key"]),
    deadLetter: options.deadLetter === undefined
      ? deadLetterKey(prefix, group)
      : V.nonEmptyString("options.deadLetter", options.deadLetter),
    decode: decodeSchema === undefined
      ? (json) => Effect.succeed(json as A)
      : decodeSchema
  }
}
