import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Predicate from "effect/Predicate"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import { Engine, iterableSource, streamSource } from "./engine.ts"
import { type ResolvedOptions, resolveOptions } from "./options.ts"
import * as V from "./validate.ts"
import * as runtime from "./runtime.ts"

/**
 * Data-first when the first argument is not the function `f`: so that a call
 * that leaves the options out, `forEach(items, f)`, is refused for its
 * missing options rather than read as the data-last form.
 */
const isDataFirst = (args: IArguments): boolean => typeof args[0] !== "function"

// The signatures, with their precise error and result types, are in Ordered.ts.

/** @internal */
export const mapEffect = dual(isDataFirst, <A, E, R, B, E1, R1>(
  self: Stream.Stream<A, E, R>,
  f: (a: A, index: number) => Effect.Effect<B, E1, R1>,
  options: unknown
): Stream.Stream<B, unknown, R | R1> =>
  runtime.unwrapScoped(Effect.gen(function*() {
    if (!runtime.isStream(self)) throw V.invalid("self", "a Stream", self)
    const resolved = resolveOptions<A>(options, yield* runtime.currentConcurrency)
    return yield* runStream(self, V.fn<typeof f>("f", f), resolved)
  })))

/**
 * `mapEffect` with options already resolved: for `Simulation`, which
 * resolves its options once and varies them per row.
 *
 * @internal
 */
export const mapEffectResolved = <A, E, R, B, E1, R1>(
  self: Stream.Stream<A, E, R>,
  f: (a: A, index: number) => Effect.Effect<B, E1, R1>,
  resolved: ResolvedOptions<A>
): Stream.Stream<B, unknown, R | R1> => runtime.unwrapScoped(runStream(self, f, resolved))

const runStream = <A, E, R, B, E1, R1>(
  self: Stream.Stream<A, E, R>,
  f: (a: A, index: number) => Effect.Effect<B, E1, R1>,
  resolved: ResolvedOptions<A>
): Effect.Effect<Stream.Stream<B, unknown, R | R1>, never, Scope.Scope | R | R1> =>
  Effect.gen(function*() {
    const upstream = yield* runtime.toArrays(self)
    const engine = new Engine<A, B, unknown, R | R1>(streamSource(upstream), f, resolved, "action")
    yield* engine.start
    return runtime.fromArrays(engine.pull)
  })

/** @internal */
export const forEach = dual(isDataFirst, <A, B, E, R>(
  self: Iterable<A>,
  f: (a: A, index: number) => Effect.Effect<B, E, R>,
  options: unknown
): Effect.Effect<Array<B> | void, unknown, R> =>
  Effect.scoped(Effect.flatMap(runtime.currentConcurrency, (inherited) => {
    if (!Predicate.isIterable(self)) throw V.invalid("iterable", "an Iterable", self)
    const resolved = resolveOptions<A>(options, inherited)
    const source = iterableSource(self)
    const engine = new Engine<A, B, unknown, R>(source, V.fn("f", f), resolved, "caller")
    const discard = V.optionalBoolean("options.discard", V.record("options", options).discard)
    const results: Array<B> = []
    // Results go to `results` as they are released: no consumer's turn between a release and the next start.
    engine.collect(discard ? undefined : (value) => results.push(value))
    const run = runtime.zipRight(engine.start, runtime.zipRight(engine.pull, source.end))
    return discard ? run : Effect.as(run, results)
  })))
