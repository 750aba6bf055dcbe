/**
 * Typed errors shared by the package's modules.
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"

/**
 * The constructor type of a `Data.TaggedError` class with `Fields`. Spelled
 * out so that each error's base class has an explicit type (JSR rejects
 * `extends Data.TaggedError(…)` as a slow type).
 *
 * @since 0.1.0
 * @category models
 */
export type TaggedErrorConstructor<Tag extends string, Fields> = new(
  args: Fields
) => Cause.YieldableError & { readonly _tag: Tag } & Readonly<Fields>

/**
 * The base class of a `Data.TaggedError` whose `message` is computed from its
 * fields: `const XBase: TaggedErrorConstructor<"X", Fields> =
 * TaggedErrorWithMessage("X", (e) => …)`, then `class X extends XBase {}`.
 * The base's explicit type keeps JSR's slow-types rule satisfied.
 *
 * @since 0.2.0
 * @category constructors
 */
export const TaggedErrorWithMessage = <Tag extends string, Fields>(
  tag: Tag,
  message: (error: Readonly<Fields>) => string
): TaggedErrorConstructor<Tag, Fields> => {
  const Base = Data.TaggedError(tag) as unknown as new(args: Fields) => Cause.YieldableError
  class WithMessage extends Base {
    override get message(): string {
      return message(this as unknown as Readonly<Fields>)
    }
  }
  return WithMessage as unknown as TaggedErrorConstructor<Tag, Fields>
}

const ActionTimeoutErrorBase: TaggedErrorConstructor<"ActionTimeoutError", {
  /** Position of the action in the input, from 0. */
  readonly index: number
  /** The `timeout` option that the action exceeded. */
  readonly timeout: Duration.Duration
}> = TaggedErrorWithMessage(
  "ActionTimeoutError",
  (e) => `Action ${e.index} did not complete within ${Duration.format(e.timeout)}`
)

/**
 * An action ran longer than `options.timeout`. The action was interrupted
 * (its finalizers ran) before this error was raised.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { ActionTimeoutError, Ordered } from "effect-ordered"
 *
 * // Action 2 never completes.
 * const program = Stream.make(1, 2, 3).pipe(
 *   Ordered.mapEffect((n) => n === 3 ? Effect.never : Effect.succeed(n), { concurrency: 2, timeout: "100 millis" }),
 *   Stream.runCollect,
 *   Effect.catchTag("ActionTimeoutError", (e: ActionTimeoutError) => Effect.succeed(e.message))
 * )
 * Effect.runPromise(program).then(console.log)
 * // Action 2 did not complete within 100ms
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ActionTimeoutError extends ActionTimeoutErrorBase {}

const CheckpointDecodeErrorBase: TaggedErrorConstructor<"CheckpointDecodeError", {
  /** The string that failed to decode. */
  readonly input: string
  /** What is wrong with it. */
  readonly reason: string
}> = TaggedErrorWithMessage(
  "CheckpointDecodeError",
  (e) => `Cannot decode checkpoint ${JSON.stringify(e.input)}: ${e.reason}`
)

/**
 * A string given to `Checkpoint.decode` is not an encoded checkpoint.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Checkpoint } from "effect-ordered"
 *
 * const error = Effect.runSync(Effect.flip(Checkpoint.decode("3:!!")))
 * console.log(error.reason)
 * // the bitset after `:` is not base64url
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class CheckpointDecodeError extends CheckpointDecodeErrorBase {}
