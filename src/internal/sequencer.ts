import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import {
  DuplicateSequenceError,
  Event as Events,
  SequenceGapError,
  SequenceOutOfWindowError,
  SequencerClosedError,
  SequencerKeyLimitError
} from "./sequencerModels.ts"
import type { Event, Gap, Key } from "./sequencerModels.ts"
import type { OfferError, Options, Sequencer, Stats } from "../Sequencer.ts"
import { Fifo } from "./fifo.ts"
import { SequencerMetrics } from "./metrics.ts"
import { type BacklogImpl, backlogOf } from "./sequencerBacklog.ts"
import { Deadlines, type Timed } from "./sequencerDeadlines.ts"
import * as V from "./validate.ts"
import * as runtime from "./runtime.ts"

/**
 * The engine behind `Sequencer`: per-key reassembly of client-numbered values.
 *
 * Shape: plain synchronous state on one JS thread, touched by the offering
 * fibers, the stream's consumer and two timer fibers. Per live key: the next
 * expected sequence, a ring holding the values buffered ahead of it (sequence
 * `s` lives in slot `s % ring.length`; the ring is a power of two longer than
 * the buffered span, grown on demand up to the window and dropped when empty,
 * so slots never collide and a key costs what it buffers), and counts of what
 * the key holds.
 *
 * Output: released values and gaps go to one FIFO read by the stream. A value
 * counts against its key's `capacity` until the consumer takes it, so the
 * FIFO is bounded by `capacity × live keys` (plus a `Gap` before a value at
 * most): offers of a key whose `capacity` values are all held suspend, in
 * arrival order, until the consumer takes some.
 *
 * Time (`sequencerDeadlines.ts`): both timeouts are constants and their start times only grow, so each
 * timer is a FIFO in deadline order (stale entries are skipped, and the FIFO is
 * compacted when they dominate).
 *
 * Late, not lost: a gap is given up only once the sequencer has caught up.
 * While offers still fill holes (a sequence arriving after a later one of its
 * key) or wait on a full key, the missing sequence may be among what is still
 * coming in, so a buffered value's deadline is `gapTimeout` after the later of
 * its acceptance and the last such sign of a backlog, and at most `maxGapWait`
 * after its acceptance. The hold is shared by all keys, so deadlines stay in
 * FIFO order. One fiber per FIFO sleeps on the sequencer's
 * `Clock` until the head's deadline; offers and reads also settle whatever is
 * due first, so the outcome never depends on when the timer fiber runs. This
 * costs O(1) per buffered value and per idle period, where a fiber per key
 * would cost a fork, a sleep and an interruption each time.
 *
 * @internal
 */

/** Resumes a suspended caller. */
type Resume = (effect: Effect.Effect<void, OfferError | SequenceGapError>) => void

const BUFFERED = 0
const UNREAD = 1
const SETTLED = 2

/** An accepted value: buffered ahead of its key's next, then unread in the output, then settled. */
interface Accepted<A> {
  readonly state: KeyState<A>
  readonly sequence: number
  readonly value: A
  /** Clock time of acceptance: its gap deadline is `arrivedAt + gapTimeout`. */
  readonly arrivedAt: number
  status: typeof BUFFERED | typeof UNREAD | typeof SETTLED
  /** The `offerAwait` caller waiting for this value to be taken. */
  waiter: Waiter<A> | undefined
}

/** An `offer`/`offerAwait` caller suspended on its key, or an `offerAwait` caller waiting for release. */
interface Waiter<A> {
  /** `undefined` once resumed or interrupted. */
  resume: Resume | undefined
  /** Set while suspended on a full key. */
  blockedOn: KeyState<A> | undefined
}

interface Blocked<A> {
  readonly sequence: number
  readonly value: A
  readonly waiter: Waiter<A>
  readonly awaiting: boolean
}

interface KeyState<A> {
  readonly key: Key
  next: number
  /** Slots by `sequence % ring.length`; `undefined` while nothing is buffered. */
  ring: Array<Accepted<A> | undefined> | undefined
  buffered: number
  /** Released values of this key the consumer has not taken yet. */
  unread: number
  /** Offers suspended because the key holds `capacity` values, in arrival order. */
  blocked: Fifo<Blocked<A>> | undefined
  /** Live (not interrupted) offers in `blocked`. */
  blockedCount: number
  /** Clock time at which the key last came to hold nothing; `undefined` while it holds something. */
  idleSince: number | undefined
  /** The highest sequence accepted: an offer below it arrived late (it fills a hole). */
  highest: number
}

/** Options after validation. */
interface Resolved {
  readonly start: number
  readonly capacity: number
  readonly gapTimeout: Duration.Duration | undefined
  /** Set with `gapTimeout`. */
  readonly maxGapWait: Duration.Duration | undefined
  readonly onGap: "skip" | "fail"
  readonly idleKeyTimeout: Duration.Duration | undefined
  readonly maxKeys: number
  readonly name: string | undefined
  /** Holds the gap deadlines while held. */
  readonly backlog: BacklogImpl | undefined
}

const GAP_MODES = ["skip", "fail"] as const

/** `maxGapWait` when not given: this many `gapTimeout`s. */
export const DEFAULT_MAX_GAP_WAIT_FACTOR = 10

/**
 * A key's ring holds a value up to `capacity - 1` ahead of its next in a
 * power-of-two array, which JavaScript caps at 2^32 - 1 slots.
 */
const MAX_CAPACITY = 2 ** 31

const resolveOptions = (options: unknown): Resolved => {
  const o = V.record("options", options)
  const capacity = V.integerBetween("options.capacity", o.capacity, 1, MAX_CAPACITY)
  const start = o.start === undefined ? 0 : V.integerAtLeast("options.start", o.start, 0)
  const gapTimeout = V.optionalPositiveDuration("options.gapTimeout", o.gapTimeout)
  if (o.onGap !== undefined && gapTimeout === undefined) throw V.comesWith("options.onGap", o.onGap, "options.gapTimeout")
  const onGap = o.onGap === undefined ? "skip" : V.oneOf("options.onGap", o.onGap, GAP_MODES)
  const maxGapWait = resolveMaxGapWait(o.maxGapWait, gapTimeout)
  const idleKeyTimeout = V.optionalPositiveDuration("options.idleKeyTimeout", o.idleKeyTimeout)
  const maxKeys = o.maxKeys === undefined || o.maxKeys === Infinity
    ? Infinity
    : V.integerAtLeast("options.maxKeys", o.maxKeys, 1, "an integer ≥ 1 or Infinity")
  const name = V.optionalText("options.name", o.name)
  const backlog = backlogOf(o.backlog)
  return { start, capacity, gapTimeout, maxGapWait, onGap, idleKeyTimeout, maxKeys, name, backlog }
}

const resolveMaxGapWait = (value: unknown, gapTimeout: Duration.Duration | undefined): Duration.Duration | undefined => {
  if (gapTimeout === undefined) {
    if (value !== undefined) throw V.comesWith("options.maxGapWait", value, "options.gapTimeout")
    return undefined
  }
  if (value === undefined) return Duration.times(gapTimeout, DEFAULT_MAX_GAP_WAIT_FACTOR)
  const maxGapWait = V.positiveDuration("options.maxGapWait", value)
  if (runtime.durationLessThan(maxGapWait, gapTimeout)) {
    throw V.invalid("options.maxGapWait", `a duration ≥ options.gapTimeout (${Duration.format(gapTimeout)})`, value)
  }
  return maxGapWait
}

const checkKey = (key: unknown): Key => {
  if (V.isKey(key)) return key
  throw V.invalid("key", "a non-empty string or a number (not NaN)", key)
}


/** Result of trying to place an offer: accepted, suspended on a full key, or rejected. */
const ACCEPTED = 0
const BLOCKED = 1
type Placement = typeof ACCEPTED | typeof BLOCKED | OfferError

/**
 * Replaces the key's ring by one long enough for a value `offset` ahead of
 * its next: the smallest power of two above `offset` (at least 4).
 */
const growRing = <A>(state: KeyState<A>, offset: number): Array<Accepted<A> | undefined> => {
  let length = 4
  while (length <= offset) length *= 2
  const ring = new Array<Accepted<A> | undefined>(length)
  const old = state.ring
  if (old !== undefined) {
    for (const entry of old) if (entry !== undefined) ring[entry.sequence % length] = entry
  }
  state.ring = ring
  return ring
}

/** Whether a buffered value is still buffered (its gap deadline still counts). */
const isBuffered = <A>(entry: Accepted<A>): boolean => entry.status === BUFFERED

class SequencerImpl<A> implements Sequencer<A>, Timed<Accepted<A>, KeyState<A>> {
  private readonly keys = new Map<Key, KeyState<A>>()
  private readonly output = new Fifo<Accepted<A> | Gap>()
  private consumer: (() => void) | undefined
  private buffered = 0
  /** Set by `close` or by a gap with `onGap: "fail"`: no offer is accepted any more. */
  stopped = false
  /** Closed by its scope: the stream ends. */
  private closed = false
  /** `onGap: "fail"`: the stream fails with this once the output is drained. */
  private failure: SequenceGapError | undefined
  private readonly deadlines: Deadlines<Accepted<A>, KeyState<A>>
  /** With `name`: what the sequencer records. */
  private readonly metrics: SequencerMetrics | undefined

  constructor(
    private readonly options: Resolved,
    private readonly clock: runtime.ClockReader,
    fiber: runtime.RuntimeFiber<unknown, unknown>
  ) {
    this.metrics = options.name === undefined ? undefined : new SequencerMetrics(options.name, fiber)
    this.deadlines = new Deadlines(clock, options, this)
  }

  /** Forks the timer fibers into `scope` and closes the sequencer when it closes. */
  start(scope: Scope.Scope): Effect.Effect<void> {
    return runtime.zipRight(this.deadlines.start(scope), Scope.addFinalizer(scope, Effect.sync(() => this.close())))
  }

  // ------------------------------------------------------------------ offers

  readonly offer = (key: Key, sequence: number, value: A): Effect.Effect<void, OfferError> =>
    Effect.suspend(() => {
      this.check(key, sequence)
      const placement = this.place(key, sequence, value, undefined)
      if (placement === ACCEPTED) return Effect.void
      if (placement !== BLOCKED) return Effect.fail(placement)
      return this.suspend(key, sequence, value, false) as Effect.Effect<void, OfferError>
    })

  readonly offerAwait = (key: Key, sequence: number, value: A): Effect.Effect<void, OfferError | SequenceGapError> =>
    Effect.suspend(() => {
      this.check(key, sequence)
      return this.suspend(key, sequence, value, true)
    })

  readonly next = (key: Key): Effect.Effect<number> =>
    Effect.sync(() => {
      checkKey(key)
      this.deadlines.settleDue()
      return this.keys.get(key)?.next ?? this.options.start
    })

  readonly stats: Effect.Effect<Stats> = Effect.sync(() => {
    this.deadlines.settleDue()
    return { keys: this.keys.size, buffered: this.buffered, unread: this.output.length }
  })

  private check(key: Key, sequence: number): void {
    checkKey(key)
    V.integerAtLeast("sequence", sequence, this.options.start, `an integer ≥ options.start (${this.options.start})`)
  }

  /**
   * Places an offer from inside `Effect.async`, so that nothing runs between
   * the decision and the registration of the caller.
   */
  private suspend(
    key: Key,
    sequence: number,
    value: A,
    awaiting: boolean
  ): Effect.Effect<void, OfferError | SequenceGapError> {
    return runtime.async<void, OfferError | SequenceGapError>((resume) => {
      const waiter: Waiter<A> = { resume, blockedOn: undefined }
      const placement = this.place(key, sequence, value, awaiting ? waiter : undefined)
      if (placement === BLOCKED) {
        const state = this.keys.get(key)!
        state.blocked ??= new Fifo(2)
        state.blocked.push({ sequence, value, waiter, awaiting })
        state.blockedCount++
        this.deadlines.blocked()
        waiter.blockedOn = state
      } else if (placement !== ACCEPTED) {
        resume(Effect.fail(placement))
      } else if (!awaiting) {
        resume(Effect.void)
      }
      return Effect.sync(() => this.abandon(waiter))
    })
  }

  /** An interrupted caller: forget it; an accepted value stays accepted. */
  private abandon(waiter: Waiter<A>): void {
    waiter.resume = undefined
    const state = waiter.blockedOn
    if (state !== undefined) {
      waiter.blockedOn = undefined
      if (--state.blockedCount === 0) state.blocked = undefined
      this.deadlines.unblocked(1)
      this.markIdle(state)
    }
  }

  /**
   * Accepts an offer (buffers or releases it), rejects it, or tells the caller
   * to suspend because its key is full or others are already suspended on it.
   */
  private place(key: Key, sequence: number, value: A, waiter: Waiter<A> | undefined): Placement {
    // Settle first: a deadline already due may stop the sequencer (onGap "fail").
    this.deadlines.settleDue()
    if (this.stopped) return new SequencerClosedError({ key, sequence })
    let state = this.keys.get(key)
    if (state === undefined) {
      const { capacity, maxKeys, start } = this.options
      if (sequence >= start + capacity) {
        return new SequenceOutOfWindowError({ key, sequence, next: start, capacity })
      }
      if (this.keys.size >= maxKeys) return new SequencerKeyLimitError({ key, sequence, maxKeys })
      state = {
        key,
        next: start,
        ring: undefined,
        buffered: 0,
        unread: 0,
        blocked: undefined,
        blockedCount: 0,
        idleSince: undefined,
        highest: -1
      }
      this.keys.set(key, state)
    } else if (state.blockedCount > 0) {
      const rejection = this.reject(state, sequence)
      if (rejection !== undefined) return rejection
      return BLOCKED
    }
    return this.accept(state, sequence, value, waiter)
  }

  /** Why `sequence` cannot be accepted by `state` now, if it cannot. */
  private reject(state: KeyState<A>, sequence: number): OfferError | undefined {
    const { capacity } = this.options
    const ring = state.ring
    if (sequence < state.next || (ring !== undefined && ring[sequence % ring.length]?.sequence === sequence)) {
      this.metrics?.duplicate()
      return new DuplicateSequenceError({ key: state.key, sequence, next: state.next })
    }
    if (sequence >= state.next + capacity) {
      return new SequenceOutOfWindowError({ key: state.key, sequence, next: state.next, capacity })
    }
    return undefined
  }

  private accept(state: KeyState<A>, sequence: number, value: A, waiter: Waiter<A> | undefined): Placement {
    const rejection = this.reject(state, sequence)
    if (rejection !== undefined) return rejection
    const { capacity } = this.options
    if (state.buffered + state.unread >= capacity) return BLOCKED
    state.idleSince = undefined
    if (sequence < state.highest) {
      this.deadlines.holeFilled()
    } else {
      state.highest = sequence
    }
    if (sequence === state.next) {
      this.release(state, { state, sequence, value, arrivedAt: 0, status: UNREAD, waiter })
      this.releaseRun(state)
      this.wakeConsumer()
    } else {
      const entry: Accepted<A> = {
        state,
        sequence,
        value,
        arrivedAt: this.deadlines.gaps ? this.clock.millis() : 0,
        status: BUFFERED,
        waiter
      }
      let ring = state.ring
      if (ring === undefined || sequence - state.next >= ring.length) ring = growRing(state, sequence - state.next)
      ring[sequence % ring.length] = entry
      state.buffered++
      this.buffered++
      this.metrics?.buffered(this.buffered)
      if (this.deadlines.gaps) this.deadlines.buffered(entry, entry.arrivedAt, this.buffered, isBuffered)
    }
    return ACCEPTED
  }

  // --------------------------------------------------------------- releasing

  /** Moves `entry`, its key's next value, to the output. */
  private release(state: KeyState<A>, entry: Accepted<A>): void {
    entry.status = UNREAD
    state.unread++
    state.next = entry.sequence + 1
    this.output.push(entry)
  }

  /** Releases the buffered values that follow the key's next without a hole. */
  private releaseRun(state: KeyState<A>): void {
    const ring = state.ring
    if (ring === undefined) return
    for (;;) {
      const slot = state.next % ring.length
      const entry = ring[slot]
      if (entry === undefined) return
      ring[slot] = undefined
      this.buffered--
      this.metrics?.buffered(this.buffered)
      this.release(state, entry)
      if (--state.buffered === 0) {
        state.ring = undefined
        return
      }
    }
  }

  /**
   * Gives up on every missing sequence before `target` (buffered, and waiting
   * longer than `gapTimeout`): emits a `Gap` per hole and releases the values
   * between them, then `target` and the run after it. With `onGap: "fail"` the
   * first hole fails the sequencer instead.
   */
  private giveUpTo(state: KeyState<A>, target: number): void {
    const ring = state.ring!
    while (state.next < target) {
      if (ring[state.next % ring.length] !== undefined) {
        this.releaseRun(state)
        continue
      }
      let end = state.next + 1
      while (ring[end % ring.length] === undefined) end++
      this.metrics?.gap()
      if (this.options.onGap === "fail") {
        return this.fail(
          new SequenceGapError({ key: state.key, from: state.next, to: end - 1, gapTimeout: this.options.gapTimeout! })
        )
      }
      this.output.push(Events.Gap({ key: state.key, from: state.next, to: end - 1 }))
      state.next = end
    }
    this.releaseRun(state)
    this.wakeConsumer()
  }

  // -------------------------------------------------------------------- time

  /** `Timed`: a gap deadline passed. */
  gapDue(entry: Accepted<A>): void {
    if (entry.status === BUFFERED) this.giveUpTo(entry.state, entry.sequence)
  }

  /** `Timed`: stale unless the key is still idle since the time its deadline was pushed. */
  idleDue(state: KeyState<A>, now: number, timeout: number): void {
    if (state.idleSince !== undefined && state.idleSince + timeout <= now && this.keys.get(state.key) === state) {
      this.keys.delete(state.key)
    }
  }

  /**
   * A consumer that takes a chunk of released values and works through them
   * one at a time (KeySequencer's) says so: `+n` when it takes them, `-1` as
   * each is done. While it holds any, gaps are not given up.
   */
  readonly holdGaps = (n: number): void => this.deadlines.hold(n)

  /** Starts the key's idle period if it holds nothing. */
  private markIdle(state: KeyState<A>): void {
    if (
      !this.deadlines.idles || state.buffered + state.unread + state.blockedCount > 0 || state.idleSince !== undefined ||
      this.keys.get(state.key) !== state
    ) return
    const now = this.clock.millis()
    state.idleSince = now
    this.deadlines.idle(state, now, this.keys.size, this.idleSinceThen)
  }

  /** Whether `state` is the live state of its key, idle since `since`. */
  private readonly idleSinceThen = (state: KeyState<A>, since: number): boolean =>
    state.idleSince === since && this.keys.get(state.key) === state

  // ------------------------------------------------------------------ stream

  private wakeConsumer(): void {
    const consumer = this.consumer
    if (consumer !== undefined && this.output.length > 0) {
      this.consumer = undefined
      consumer()
    }
  }

  /** Hands every unread event to the consumer: they are released now. */
  private take(): ReadonlyArray<Event<A>> {
    const n = this.output.length
    const events = new Array<Event<A>>(n)
    for (let i = 0; i < n; i++) {
      const item = this.output.shift()!
      if (!("status" in item)) {
        events[i] = item
        continue
      }
      const state = item.state
      events[i] = Events.Released({ key: state.key, sequence: item.sequence, value: item.value })
      item.status = SETTLED
      state.unread--
      const waiter = item.waiter
      if (waiter?.resume !== undefined) {
        const resume = waiter.resume
        waiter.resume = undefined
        resume(Effect.void)
      }
      if (state.blockedCount > 0) this.admitBlocked(state)
      else this.markIdle(state)
    }
    return events
  }

  /** Places the offers suspended on `state`, in arrival order, while it has room. */
  private admitBlocked(state: KeyState<A>): void {
    const blocked = state.blocked!
    while (state.blockedCount > 0 && state.buffered + state.unread < this.options.capacity) {
      const { awaiting, sequence, value, waiter } = blocked.shift()!
      if (waiter.resume === undefined) continue
      state.blockedCount--
      this.deadlines.unblocked(1)
      waiter.blockedOn = undefined
      const placement = this.accept(state, sequence, value, awaiting ? waiter : undefined)
      if (placement === ACCEPTED && awaiting) continue
      const resume = waiter.resume
      waiter.resume = undefined
      resume(placement === ACCEPTED ? Effect.void : Effect.fail(placement as OfferError))
    }
    if (state.blockedCount === 0) state.blocked = undefined
    this.markIdle(state)
  }

  /** The next events; `undefined` once the stream has ended (`runtime.fromArrays`). */
  private readonly pull: Effect.Effect<ReadonlyArray<Event<A>> | undefined, SequenceGapError> = Effect.suspend(() => {
    if (this.output.length > 0) return Effect.succeed(this.take())
    // A gap failure is reported even if the scope closed before it was read.
    if (this.failure !== undefined) return Effect.fail(this.failure)
    if (this.closed) return Effect.succeed(undefined)
    return runtime.zipRight(
      runtime.async<void>((resume) => {
        this.consumer = () => resume(Effect.void)
        return Effect.sync(() => {
          this.consumer = undefined
        })
      }),
      this.pull
    )
  })

  readonly stream: Stream.Stream<Event<A>, SequenceGapError> = runtime.fromArrays(this.pull)

  // -------------------------------------------------------------- stopping

  /** `onGap: "fail"`: stop accepting; the stream fails once the output is drained. */
  private fail(error: SequenceGapError): void {
    this.failure = error
    this.stop((state) => state.key === error.key ? error : undefined)
    const consumer = this.consumer
    if (consumer !== undefined) {
      this.consumer = undefined
      consumer()
    }
  }

  /** The scope closed: the stream ends, every waiting caller fails. */
  private close(): void {
    this.closed = true
    if (!this.stopped) this.stop(() => undefined)
    for (let item = this.output.shift(); item !== undefined; item = this.output.shift()) {
      if ("status" in item) drop(item, new SequencerClosedError({ key: item.state.key, sequence: item.sequence }))
    }
    const consumer = this.consumer
    if (consumer !== undefined) {
      this.consumer = undefined
      consumer()
    }
  }

  /**
   * Stops accepting offers and drops every buffered value and suspended
   * offer, failing their callers with `errorOf(key)` or `SequencerClosedError`.
   */
  private stop(errorOf: (state: KeyState<A>) => SequenceGapError | undefined): void {
    this.stopped = true
    this.deadlines.clear()
    for (const state of this.keys.values()) dropKey(state, errorOf(state))
    this.buffered = 0
    this.metrics?.buffered(0)
  }
}

/** Fails `entry`'s waiting caller, if any, with `error`. */
const drop = <A>(entry: Accepted<A>, error: OfferError | SequenceGapError): void => {
  entry.status = SETTLED
  const resume = entry.waiter?.resume
  if (resume === undefined) return
  entry.waiter!.resume = undefined
  resume(Effect.fail(error))
}

/** Drops the values `state` buffers and the offers suspended on it, failing their callers with `error` or `SequencerClosedError`. */
const dropKey = <A>(state: KeyState<A>, error: SequenceGapError | undefined): void => {
  const ring = state.ring
  if (ring !== undefined) {
    for (let i = 0; i < ring.length; i++) {
      const entry = ring[i]
      if (entry === undefined) continue
      ring[i] = undefined
      drop(entry, error ?? new SequencerClosedError({ key: state.key, sequence: entry.sequence }))
    }
  }
  for (let b = state.blocked?.shift(); b !== undefined; b = state.blocked?.shift()) {
    const resume = b.waiter.resume
    if (resume === undefined) continue
    b.waiter.resume = undefined
    b.waiter.blockedOn = undefined
    resume(Effect.fail(new SequencerClosedError({ key: state.key, sequence: b.sequence })))
  }
  state.buffered = 0
  state.blockedCount = 0
}

/** A `Sequencer` as the package's own modules see it. @internal */
export interface SequencerEngine<A> extends Sequencer<A> {
  readonly holdGaps: (n: number) => void
}

/** @internal */
export const make = <A>(options: Options): Effect.Effect<SequencerEngine<A>, never, Scope.Scope> =>
  Effect.suspend(() => {
    const resolved = resolveOptions(options)
    return runtime.withFiber((fiber) => Effect.flatMap(Effect.scope, (scope) => {
      const sequencer = new SequencerImpl<A>(resolved, runtime.clockOf(fiber), fiber)
      return Effect.as(sequencer.start(scope), sequencer)
    }))
  })
