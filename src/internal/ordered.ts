import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { ActionTimeoutError } from "../errors.ts"
import type { Options } from "../Ordered.ts"
import { Engine, iterableSource, streamSource } from "./engine.ts"
import { resolveOptions } from "./options.ts"

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
>(3, <A, E, R, B, E1, R1>(
  self: Stream.Stream<A, E, R>,
  f: (a: A, index: number) => Effect.Effect<B, E1, R1>,
  options: Options<A>
): Stream.Stream<B, E | E1 | ActionTimeoutError, R | R1> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const resolved = resolveOptions<A>(options)
    const upstream = yield* Stream.toPull(self)
    const engine = new Engine<A, B, E | E1 | ActionTimeoutError, R | R1>(streamSource(upstream), f, resolved)
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
>(3, <A, B, E, R>(
  self: Iterable<A>,
  f: (a: A, index: number) => Effect.Effect<B, E, R>,
  options: Options<A>
): Effect.Effect<Array<B>, E | ActionTimeoutError, R> =>
  Effect.scoped(Effect.suspend(() => {
    const engine = new Engine<A, B, E | ActionTimeoutError, R>(iterableSource(self), f, resolveOptions<A>(options))
    const results: Array<B> = []
    const collect: Effect.Effect<Array<B>, E | ActionTimeoutError> = Effect.flatMap(engine.pull, (out) => {
      if (out === undefined) return Effect.succeed(results)
      for (let i = 0; i < out.length; i++) results.push(out[i])
      return collect
    })
    return Effect.zipRight(engine.start, collect)
  })))
