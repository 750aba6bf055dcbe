import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import type { Sequencer } from "../../src/index.ts"
import { TestClock, fork } from "./line.ts"

/**
 * Lets every forked fiber (the consumer, woken offers, timer fibers) run until
 * it is suspended: `TestClock.adjust` waits for the test's fibers to settle.
 */
export const flush: Effect.Effect<void> = TestClock.adjust(0)

export interface Consumer<A> {
  readonly events: Array<Sequencer.Event<A>>
  readonly fiber: Fiber.RuntimeFiber<void, Sequencer.SequenceGapError>
}

/** Forks a consumer of `sequencer.stream` recording every event it takes. */
export const consume = <A>(sequencer: Sequencer.Sequencer<A>): Effect.Effect<Consumer<A>> =>
  Effect.gen(function*() {
    const events: Array<Sequencer.Event<A>> = []
    const fiber = yield* fork(Stream.runForEach(sequencer.stream, (event) =>
      Effect.sync(() => {
        events.push(event)
      })))
    yield* flush
    return { events, fiber }
  })

/** Events in a compact form for assertions: `"k:3=v"` for a release, `"k:gap 1-2"` for a gap. */
export const show = <A>(events: ReadonlyArray<Sequencer.Event<A>>): Array<string> =>
  events.map((e) =>
    e._tag === "Released" ? `${e.key}:${e.sequence}=${String(e.value)}` : `${e.key}:gap ${e.from}-${e.to}`
  )
