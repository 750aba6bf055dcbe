import * as Effect from "effect/Effect"

/**
 * Where the engine's input comes from: an `Iterable` (`Ordered.forEach`) or
 * a stream's pull (`Ordered.mapEffect`, the partition worker). Pulled by
 * one worker at a time; `undefined` ends it.
 *
 * @internal
 */
export interface Source<A, E, R> {
  /** `max` is how many more actions the window admits now (a hint). */
  readonly pull: (max: number) => Effect.Effect<ReadonlyArray<A> | undefined, E, R>
  /** Releases the source when the run ends, however it ends. */
  readonly close: Effect.Effect<void>
}

/**
 * Reads an `Iterable` lazily, at most what the window admits at a time.
 *
 * An iterator that throws ends the input where it threw, as `for…of` would:
 * every item it yielded before is run and emitted, then `end` dies with what
 * it threw.
 */
export const iterableSource = <A>(iterable: Iterable<A>): Source<A, never, never> & {
  /** After the run: dies with what the iterator threw, if it threw. */
  readonly end: Effect.Effect<void>
} => {
  if (Array.isArray(iterable)) {
    let taken = false
    return {
      pull: () =>
        Effect.sync(() => {
          if (taken || iterable.length === 0) return undefined
          taken = true
          return iterable as ReadonlyArray<A>
        }),
      close: Effect.void,
      end: Effect.void
    }
  }
  let iterator: Iterator<A> | undefined
  let threw = false
  let thrown: unknown
  return {
    pull: (max) =>
      Effect.sync(() => {
        const out: Array<A> = []
        if (threw) return undefined
        try {
          iterator ??= iterable[Symbol.iterator]()
          const n = Math.min(max, 4096)
          while (out.length < n) {
            const next = iterator.next()
            if (next.done) break
            out.push(next.value)
          }
        } catch (error) {
          threw = true
          thrown = error
        }
        return out.length > 0 ? out : undefined
      }),
    // As `for…of` does on an early exit: a generator's `finally` runs.
    close: Effect.sync(() => {
      if (!threw) iterator?.return?.()
    }),
    end: Effect.suspend(() => threw ? Effect.die(thrown) : Effect.void)
  }
}

/** Reads a stream through its pull, as arrays (`runtime.toArrays`). */
export const streamSource = <A, E, R>(
  pull: Effect.Effect<ReadonlyArray<A> | undefined, E, R>
): Source<A, E, R> =>
  // The stream's own scope closes it.
  ({ pull: () => pull, close: Effect.void })

/**
 * The engine's side of its source: the chunk pulled last, read one input at
 * a time, and whether upstream has ended or is being pulled.
 *
 * @internal
 */
export class Intake<A, R> {
  private input: ReadonlyArray<A> = []
  private offset = 0
  /** Upstream has ended. */
  ended = false
  /** A worker is pulling upstream. */
  pulling = false

  constructor(private readonly source: Source<A, unknown, R>) {}

  /** Inputs pulled and not yet taken. */
  get buffered(): number {
    return this.input.length - this.offset
  }

  /** Nothing is left to take, now or later. */
  get exhausted(): boolean {
    return this.ended && this.offset >= this.input.length
  }

  /** The next buffered input (only while `buffered > 0`). */
  next(): A {
    return this.input[this.offset++]
  }

  /** Pulls the next chunk (`max`: a hint); whether one came (`false` once upstream has ended). */
  pull(max: number): Effect.Effect<boolean, unknown, R> {
    this.pulling = true
    return Effect.matchEffect(this.source.pull(max), {
      onFailure: (error) => {
        this.pulling = false
        return Effect.fail(error)
      },
      onSuccess: (chunk) => {
        this.pulling = false
        this.input = chunk ?? []
        this.offset = 0
        if (chunk === undefined) this.ended = true
        return Effect.succeed(chunk !== undefined)
      }
    })
  }
}
