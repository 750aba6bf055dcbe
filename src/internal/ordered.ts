import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"
import type { ActionTimeoutError } from "../errors.ts"
import type { Options } from "../Ordered.ts"
import { Engine, iterableSource, streamSource } from "./engine.ts"
import { resolveOptions } from "./options.ts"
import * as V from "./validate.ts"

/**
 * Data-first when the first argument is not the function `f`: so that a call
 * that leaves the options out, `forEach(items, f)`, is refused for its
 * missing options rather than read as the data-last form.
 */
const isDataFirst = (args: IArguments): boolean => typeof args[0] !== "function"

/** @internal */
export const mapEffect = dual<
  <A, B, E1, R1>(
    f: (a: A, index: number) => Effect.Effect<B, E1, R1>,
    options: Options<A>
  ) => <E, R>(self: Stream.Stream<A, E, R>) => Stream.Stream<B, E | E1 | ActionTimeoutError, R | R1>,
  <A, E, R, B, E1, R1>(
    self: Stream.Stream<A, E, R>,
    f: (a: A, index: number) => Effect.Effect<B, E1, R1>,
    options: Options<A>
  ) => Stream.Stream<B, E | E1 | ActionTimeoutError, R | R1>
>(isDataFirst, <A, E, R, B, E1, R1>(
  self: Stream.Stream<A, E, R>,
  f: (a: A, index: number) => Effect.Effect<B, E1, R1>,
  options: Options<A>
): Stream.Stream<B, E | E1 | ActionTimeoutError, R | R1> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    if (!Predicate.hasProperty(self, Stream.StreamTypeId)) throw V.invalid("self", "a Stream", self)
    const resolved = resolveOptions<A>(options)
    const action = V.fn<typeof f>("f", f)
    const upstream = yield* Stream.toPull(self)
    const engine = new Engine<A, B, E | E1 | ActionTimeoutError, R | R1>(
      streamSource(upstream),
      action,
      resolved,
      "action"
    )
    yield* engine.start
    return Stream.repeatEffectChunkOption(Effect.matchEffect(engine.pull, {
      onFailure: (error) => Effect.fail(Option.some(error)),
      onSuccess: (out) => out === undefined ? Effect.fail(Option.none()) : Effect.succeed(Chunk.unsafeFromArray(out))
    }))
  })))

/** @internal */
export const forEach = dual<
  <A, B, E, R>(
    f: (a: A, index: number) => Effect.Effect<B, E, R>,
    options: Options<A>
  ) => (self: Iterable<A>) => Effect.Effect<Array<B>, E | ActionTimeoutError, R>,
  <A, B, E, R>(
    self: Iterable<A>,
    f: (a: A, index: number) => Effect.Effect<B, E, R>,
    options: Options<A>
  ) => Effect.Effect<Array<B>, E | ActionTimeoutError, R>
>(isDataFirst, <A, B, E, R>(
  self: Iterable<A>,
  f: (a: A, index: number) => Effect.Effect<B, E, R>,
  options: Options<A>
): Effect.Effect<Array<B>, E | ActionTimeoutError, R> =>
  Effect.scoped(Effect.suspend(() => {
    if (!Predicate.isIterable(self)) throw V.invalid("iterable", "an Iterable", self)
    const resolved = resolveOptions<A>(options)
    const engine = new Engine<A, B, E | ActionTimeoutError, R>(iterableSource(self), V.fn("f", f), resolved, "caller")
    const results: Array<B> = []
    const collect: Effect.Effect<Array<B>, E | ActionTimeoutError> = Effect.flatMap(engine.pull, (out) => {
      if (out === undefined) return Effect.succeed(results)
      for (let i = 0; i < out.length; i++) results.push(out[i])
      return collect
    })
    return Effect.zipRight(engine.start, collect)
  })))
