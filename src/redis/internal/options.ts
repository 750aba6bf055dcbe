import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as T from "../../internal/transportOptions.ts"
import type { Committed, ConsumeOptions, Entry } from "../index.ts"
import { deadLetterKey } from "./redis.ts"
import * as V from "./validate.ts"

/** The options with every default filled in: the required ones as given, the rest resolved. @internal */
export interface Resolved<A, B, E1, R1, E2, R2> extends
  Pick<ConsumeOptions<A, B, E1, R1, E2, R2>, "redis" | "prefix" | "partitions" | "group" | "consumer" | "process">,
  T.ResolvedWorkerOptions<A, E1>
{
  readonly batchSize: number
  /** Milliseconds. */
  readonly leaseTtl: number
  readonly pollInterval: Duration.Duration
  readonly deadLetter: string
  /** Exactly one of the two is given. */
  readonly commit:
    | { readonly _tag: "each"; readonly commit: (result: B, action: A, entry: Entry) => Effect.Effect<void, E2, R2> }
    | { readonly _tag: "batch"; readonly commit: (committed: ReadonlyArray<Committed<A, B>>) => Effect.Effect<void, E2, R2> }
}

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
  const worker = T.resolveWorkerOptions<A, E1>(V.record("options", options))
  const prefix = T.text("options.prefix", options.prefix)
  const group = T.text("options.group", options.group)
  return {
    ...worker,
    redis: V.client("options.redis", options.redis),
    prefix,
    partitions: V.integerAtLeast("options.partitions", options.partitions, 1),
    group,
    consumer: T.text("options.consumer", options.consumer),
    process: V.fn("options.process", options.process),
    commit: resolveCommit(options),
    // Where the window starts: one read fills it.
    batchSize: V.optionalIntegerAtLeast("options.batchSize", options.batchSize, 1) ?? worker.window,
    leaseTtl: Duration.toMillis(V.optionalPositiveDuration("options.leaseTtl", options.leaseTtl) ?? Duration.seconds(10)),
    pollInterval: V.optionalPositiveDuration("options.pollInterval", options.pollInterval) ?? Duration.millis(100),
    deadLetter: options.deadLetter === undefined
      ? deadLetterKey(prefix, group)
      : T.text("options.deadLetter", options.deadLetter)
  }
}
