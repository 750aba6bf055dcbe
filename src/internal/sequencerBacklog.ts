/**
 * A backlog signal shared by sequencers and the code in front of them (an
 * HTTP server): while it is held, no sequencer given it gives up a gap, and
 * the moment the last hold ends counts as the last sign of a backlog. Plain
 * synchronous state read by the sequencers' gap timers when they wake, so
 * holding and releasing cost a counter update, and nothing is awaited across
 * requests (which workerd forbids).
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as runtime from "./runtime.ts"
import * as V from "./validate.ts"

/** @internal */
export const BacklogTypeId: unique symbol = Symbol.for("effect-ordered/Sequencer/Backlog")

/** See `Sequencer.Backlog`. */
export interface Backlog {
  readonly [BacklogTypeId]: BacklogImpl
}

/** @internal */
export class BacklogImpl implements Backlog {
  readonly [BacklogTypeId] = this
  /** Holds not yet released. */
  holds = 0
  /** Clock time at which the last hold ended, or up to which `holdFor` holds (may be in the future). */
  lastSign = -Infinity

  constructor(private readonly clock: runtime.ClockReader) {}

  /** Holds until the returned function is called (once; later calls do nothing). */
  acquire(): () => void {
    this.holds++
    let held = true
    return () => {
      if (!held) return
      held = false
      if (--this.holds === 0) this.lastSign = Math.max(this.lastSign, this.clock.millis())
    }
  }

  /** Holds from now for `millis`. */
  holdFor(millis: number): void {
    this.lastSign = Math.max(this.lastSign, this.clock.millis() + millis)
  }
}

/** The engine's view of a `Backlog` option (validated). @internal */
export const backlogOf = (value: unknown): BacklogImpl | undefined => {
  if (value === undefined) return undefined
  if (typeof value === "object" && value !== null && BacklogTypeId in value) {
    return (value as Backlog)[BacklogTypeId]
  }
  throw V.invalid("options.backlog", "a Sequencer.Backlog (from Sequencer.makeBacklog)", value)
}

/** @internal */
export const make: Effect.Effect<Backlog> = runtime.withFiber((fiber) => Effect.succeed(new BacklogImpl(runtime.clockOf(fiber))))

/** @internal */
export const hold = <A, E, R>(self: Effect.Effect<A, E, R>, backlog: Backlog): Effect.Effect<A, E, R> =>
  Effect.acquireUseRelease(
    Effect.sync(() => backlog[BacklogTypeId].acquire()),
    () => self,
    (release) => Effect.sync(release)
  )

/** @internal */
export const holdFor = (backlog: Backlog, duration: runtime.DurationInput): Effect.Effect<void> =>
  Effect.sync(() => backlog[BacklogTypeId].holdFor(Duration.toMillis(runtime.decodeDuration(duration))))

/** @internal */
export const unsafeHold = (backlog: Backlog): () => void => backlog[BacklogTypeId].acquire()
