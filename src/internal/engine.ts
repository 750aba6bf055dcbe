import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { constVoid } from "effect/Function"
import type * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import type * as Tracer from "effect/Tracer"
import { ActionTimeoutError } from "../errors.ts"
import { AutoWindow } from "./autoWindow.ts"
import { type ChildLifetime, ForkWatch } from "./children.ts"
import { ConcurrencyLimit } from "./concurrencyLimit.ts"
import { PipelineMetrics } from "./metrics.ts"
import { Fifo } from "./fifo.ts"
import { currentAttempt, HeadWatch } from "./hedge.ts"
import { checkKey, type Key, type ResolvedOptions } from "./options.ts"
import * as V from "./validate.ts"

/** A source of input, pulled by one worker at a time; `undefined` ends it. */
interface Source<A, E, R> {
  /** `max` is how many more actions the window admits now (a hint). */
  readonly pull: (max: number) => Effect.Effect<ReadonlyArray<A> | undefined, E, R>
  /** Releases the source when the run ends, however it ends. */
  readonly close: Effect.Effect<void>
}

const WAITING = 0
const RUNNING = 1
const DONE = 2
const FAILED = 3

interface Entry<A, B> {
  readonly index: number
  readonly input: A
  lane: Lane<A, B> | undefined
  state: typeof WAITING | typeof RUNNING | typeof DONE | typeof FAILED
  output: B | undefined
  cause: Cause.Cause<unknown> | undefined
  /** With `name` or `hedge`: when it started (Clock ms); with `name`: when it ended, and its span. */
  startedAt: number
  finishedAt: number
  span: Tracer.Span | undefined
  /** With `hedge`: set once a second copy is asked for. */
  copy: Copy | undefined
}

/** The hedged copy of an action, and what its first failure left. */
interface Copy {
  started: boolean
  /** Attempts of the action running now, or about to (the copy, while queued). */
  live: number
  /** The first attempt to fail, while the other may still succeed. */
  failure: Cause.Cause<unknown> | undefined
}

interface Lane<A, B> {
  readonly key: Key
  /** Actions of the key running or about to run (in `runnable`). */
  running: number
  /** Admitted actions waiting for the key, in input order (made on first need). */
  waiting: Fifo<Entry<A, B>> | undefined
  /**
   * The key's actions not yet emitted, in input order: only for `order: "key"`
   * with `keyConcurrency > 1`. With one action of a key at a time, a key's
   * actions complete in input order and leave as they complete.
   */
  readonly pending: Fifo<Entry<A, B>> | undefined
}

interface Worker<A, B> {
  readonly fiber: Fiber.RuntimeFiber<void>
  /** The action this worker runs, if any. */
  entry: Entry<A, B> | undefined
  /** Files the result of the action it runs, ended at `now` (ms; read only with `name`). */
  readonly file: {
    readonly onFailure: (cause: Cause.Cause<unknown>, now: number) => void
    readonly onSuccess: (output: B, now: number) => void
  }
  /**
   * Files a result that took a trip through the runtime, after ending the
   * action's children (`children: "action"`). Built once per worker: no
   * closure is allocated per action.
   */
  readonly settle: Settle<B>
  /** With `hedge`: `settle`, after ending the other attempt when this one decides the action. */
  settleHedged: Settle<B> | undefined
  /** With `concurrency: "auto"`: when the attempt it runs started (Clock ms). */
  startedAt: number
}

interface Settle<B> {
  readonly onFailure: (cause: Cause.Cause<unknown>) => Effect.Effect<void>
  readonly onSuccess: (output: B) => Effect.Effect<void>
}

type Resume = (effect: Effect.Effect<void>) => void

/**
 * The one ordering engine behind every operator and every order.
 *
 * Shape: worker fibers, recruited as work appears up to `concurrency`, take
 * actions from upstream, run them inline (no fiber per action) and file each
 * result in its place; a consumer takes the results that are ready, in order, as one
 * chunk per pull. Coordination is plain synchronous state on one JS thread;
 * fibers only park (`Effect.async`) when there is nothing to do, and are woken
 * one at a time, each woken worker waking the next while work remains.
 *
 * Ordering:
 * - `total`: one FIFO of admitted actions in input order; the done prefix is
 *   emitted.
 * - `key`: per key, a lane created on the key's first action and dropped
 *   when the key has nothing inside the window. With one action of a key at
 *   a time (the default) results leave as they complete; with more, the
 *   lane keeps a FIFO and its done prefix leaves.
 * - `none`: results leave as they complete.
 * A key, when given, also gates starts: at most `keyConcurrency` actions of a
 * key run at once, started in input order.
 *
 * Window: `admitted` counts actions taken from upstream and not yet handed to
 * the consumer; nothing is admitted while it equals `window`. With
 * `window: "auto"`, an `AutoWindow` moves that bound as the run goes.
 *
 * Hedging: a `HeadWatch` fiber asks for a copy of a head that runs too long;
 * the copy waits in `hedges` for a worker, ahead of new actions. The first
 * attempt to succeed files the result, and the worker of the other is
 * interrupted and retired (a new one is recruited in its place).
 *
 * @internal
 */
export class Engine<A, B, E, R> {
  private input: ReadonlyArray<A> = []
  private inputOffset = 0
  private upstreamDone = false
  private pulling = false
  private nextIndex = 0
  /** Taken from upstream, not yet handed to the consumer: bounded by `window`. */
  private admitted = 0
  private window: number
  private readonly autoWindow: AutoWindow | undefined
  /** False once a failure is known: nothing more is taken from upstream. */
  private admitting = true
  /** Only actions before this index may still start (total order after a failure). */
  private startLimit = Infinity
  private readonly runnable = new Fifo<Entry<A, B>>()
  /** With `hedge`: actions whose copy waits for a worker. */
  private readonly hedges: Fifo<Entry<A, B>> | undefined
  private headWatch: HeadWatch<Entry<A, B>, R> | undefined
  private readonly lanes = new Map<Key, Lane<A, B>>()
  /** `order: "total"`: every admitted action not yet emitted, in input order. */
  private readonly pending: Fifo<Entry<A, B>> | undefined
  private output: Array<B> = []
  /** Set when the stream must fail once `output` has been handed over. */
  private terminal: Cause.Cause<unknown> | undefined
  /** Workers that have started, for interrupting the ones running later actions. */
  private readonly workers: Array<Worker<A, B>> = []
  /** Every worker fiber forked, started or not. */
  private readonly fibers: Array<Fiber.RuntimeFiber<void>> = []
  private scope: Scope.Scope | undefined
  private readonly parked: Array<Resume> = []
  /** Workers woken or forked that have not run yet: each will take one unit of work. */
  private onTheWay = 0
  /** Worker fibers forked or about to be (`fibers` fills in after the fork). */
  private spawned = 0
  private consumer: Resume | undefined
  private interruptor: FiberId.FiberId | undefined
  /** With `children: "action"`: which workers' actions forked something. */
  private readonly forkWatch: ForkWatch | undefined
  /** With `name`: what the run records. */
  private metrics: PipelineMetrics | undefined
  /** With `concurrency: "auto"`: how many attempts may run now (see "concurrency: auto" below). */
  private readonly limiter: ConcurrencyLimit | undefined
  private clock: Clock.Clock | undefined

  constructor(
    private readonly source: Source<A, unknown, R>,
    private readonly f: (a: A, index: number) => Effect.Effect<B, unknown, R>,
    private readonly options: ResolvedOptions<A>,
    children: ChildLifetime
  ) {
    this.pending = options.order === "total" ? new Fifo(Math.min(options.window, 1024)) : undefined
    this.window = options.window
    this.autoWindow = options.maxWindow === undefined ? undefined : new AutoWindow(options.window, options.maxWindow)
    this.forkWatch = children === "action" ? new ForkWatch() : undefined
    this.hedges = options.hedge === undefined ? undefined : new Fifo()
    this.limiter = options.limit === undefined ? undefined : new ConcurrencyLimit(options.limit)
  }

  /**
   * Forks the first worker into the scope; closing the scope interrupts every
   * worker. Workers are recruited as work appears, up to `concurrency`: a
   * pool of 1,000 over three actions forks no more than a few fibers.
   */
  readonly start: Effect.Effect<void, never, R | Scope.Scope> = Effect.flatMap(Effect.scope, (scope) => {
    this.scope = scope
    // Finalizers run in reverse: the workers stop before the source closes.
    const first = this.forkWatch === undefined
      ? Effect.transplant((graft) => {
        this.graft = graft
        this.runWorker = graft(this.worker)
        return this.spawn(1)
      })
      // Workers recruited by this one inherit its supervisor.
      : this.spawn(1, Effect.supervised(this.worker, this.forkWatch))
    const name = this.options.name
    const metered = name === undefined ? Effect.void : Effect.withFiberRuntime<void>((fiber) => {
      const metrics = this.metrics = new PipelineMetrics(name, fiber, this.limiter)
      // Runs last: the workers have stopped; the actions they were running end as interrupted.
      return Scope.addFinalizer(scope, Effect.sync(() => {
        for (const worker of this.workers) {
          if (worker.entry !== undefined) metrics.interrupted(worker.entry.span, this.interruptor!)
        }
        metrics.close()
      }))
    })
    return metered.pipe(
      Effect.zipRight(this.startLimiter),
      Effect.zipRight(Scope.addFinalizer(scope, this.source.close)),
      Effect.zipRight(this.startHeadWatch),
      Effect.zipRight(first)
    )
  })

  private readonly startHeadWatch: Effect.Effect<void, never, R> = Effect.suspend(() => {
    const policy = this.options.hedge
    if (policy === undefined) return Effect.void
    return Effect.clockWith((clock) => {
      const watch = new HeadWatch<Entry<A, B>, R>(
        policy,
        clock,
        (entry) => entry.state === RUNNING && entry.copy === undefined && entry.index < this.startLimit,
        (entry) => this.hedge(entry)
      )
      this.headWatch = watch
      // Workers it recruits inherit its supervisor, as those recruited by a worker do.
      const loop = this.forkWatch === undefined ? watch.loop : Effect.supervised(watch.loop, this.forkWatch)
      return Effect.asVoid(Effect.tap(Effect.forkIn(loop, this.scope!), (fiber) => this.fibers.push(fiber)))
    })
  })

  /**
   * With `children: "caller"`: runs an effect with the caller's fork scope, so
   * that what it forks belongs to the caller, as in `Effect.forEach`. Every
   * fiber needs it: a fork does not inherit it.
   */
  private graft: (<X, Y, Z>(effect: Effect.Effect<X, Y, Z>) => Effect.Effect<X, Y, Z>) | undefined
  private runWorker: Effect.Effect<void, never, R> | undefined

  private spawn(count: number, worker = this.runWorker ?? this.worker): Effect.Effect<void, never, R> {
    this.spawned += count
    this.onTheWay += count
    const fork = Effect.tap(Effect.forkIn(worker, this.scope!), (fiber) => this.fibers.push(fiber))
    return count === 1 ? Effect.asVoid(fork) : Effect.asVoid(Effect.replicateEffect(fork, count))
  }

  private readonly worker: Effect.Effect<void, never, R> = Effect.withFiberRuntime((fiber) => {
    this.interruptor ??= fiber.id()
    this.onTheWay--
    this.forkWatch?.watch(fiber)
    const file = {
      onFailure: (cause: Cause.Cause<unknown>, now: number): void => {
        const entry = worker.entry!
        worker.entry = undefined
        if (this.limiter !== undefined) this.limitDropped(worker, entry, cause)
        if (entry.copy !== undefined) {
          const settled = this.settleCopy(entry, cause)
          // The other attempt may still succeed.
          if (settled === undefined) return
          cause = settled
        }
        this.headWatch?.record(this.headWatch.now() - entry.startedAt)
        if (this.metrics !== undefined) {
          this.metrics.ended(entry.startedAt, now, entry.span, cause, undefined)
          entry.finishedAt = now
        }
        this.fail(entry, cause)
      },
      onSuccess: (output: B, now: number): void => {
        const entry = worker.entry!
        worker.entry = undefined
        this.limiter?.finished(worker.startedAt, this.clock!.unsafeCurrentTimeMillis())
        if (entry.copy !== undefined) this.settleCopy(entry, undefined)
        this.headWatch?.record(this.headWatch.now() - entry.startedAt)
        if (this.metrics !== undefined) {
          this.metrics.ended(entry.startedAt, now, entry.span, undefined, output)
          entry.finishedAt = now
        }
        entry.state = DONE
        entry.output = output
        this.complete(entry)
      }
    }
    // After a trip through the runtime the worker may stop without another
    // step: the gauges are brought up to date here.
    const settled = {
      onFailure: (cause: Cause.Cause<unknown>): Effect.Effect<void> => {
        file.onFailure(cause, this.metrics?.now() ?? 0)
        this.metrics?.flush()
        return Effect.void
      },
      onSuccess: (output: B): Effect.Effect<void> => {
        file.onSuccess(output, this.metrics?.now() ?? 0)
        this.metrics?.flush()
        return Effect.void
      }
    }
    const forkWatch = this.forkWatch
    const worker: Worker<A, B> = {
      fiber,
      entry: undefined,
      file,
      settleHedged: undefined,
      startedAt: 0,
      settle: forkWatch === undefined ? settled : {
        onFailure: (cause) => {
          const ending = forkWatch.endChildren(fiber)
          return ending === undefined ? settled.onFailure(cause) : Effect.zipRight(ending, Effect.suspend(() => settled.onFailure(cause)))
        },
        onSuccess: (output) => {
          const ending = forkWatch.endChildren(fiber)
          return ending === undefined ? settled.onSuccess(output) : Effect.zipRight(ending, Effect.suspend(() => settled.onSuccess(output)))
        }
      }
    }
    if (this.hedges !== undefined) worker.settleHedged = this.settleHedged(worker)
    this.workers.push(worker)
    return Effect.zipRight(
      Effect.whileLoop({
        while: () => this.hasWork() && !this.overLimit(),
        body: () => this.step(worker),
        step: constVoid
      }),
      // Its place is free: a hedged copy asked for later may recruit a worker again.
      this.workerDone
    )
  })

  private readonly workerDone = Effect.sync(() => {
    this.spawned--
    // A worker that left over the limit hands the work it was woken for to another.
    if (this.limiter !== undefined) this.wakeForWork()
  })

  /**
   * The consumer's side: the next results in order (never empty), or
   * `undefined` once every action has been emitted. After a failure it first
   * hands over what was released, then interrupts the workers, waits for
   * their finalizers and fails with the failure's cause.
   */
  readonly pull: Effect.Effect<Array<B> | undefined, E> = Effect.suspend(() => {
    const out = this.output
    if (out.length > 0) {
      this.output = []
      if (this.autoWindow !== undefined) this.window = this.autoWindow.handedOver(out.length, this.admitted)
      this.admitted -= out.length
      if (this.metrics !== undefined) {
        this.metrics.handed(out.length)
        this.metrics.flush()
      }
      if (this.admitting) this.wakeForWork()
      return Effect.succeed(out)
    }
    if (this.terminal !== undefined) {
      const cause = this.terminal as Cause.Cause<E>
      return Effect.zipRight(this.interruptAll, Effect.failCause(cause))
    }
    if (this.upstreamDone && this.admitted === 0) return Effect.succeed(undefined)
    return Effect.zipRight(
      Effect.async<void>((resume) => {
        this.consumer = resume
        if (this.growWindow(this.parked.length + this.concurrency() - this.spawned)) this.wakeForWork()
        return Effect.sync(() => {
          this.consumer = undefined
        })
      }),
      this.pull
    )
  })

  private readonly interruptAll: Effect.Effect<void> = Effect.suspend(() =>
    Fiber.interruptAll(this.fibers)
  )

  // ---------------------------------------------------------------- workers

  /** Whether a worker still has a reason to loop. */
  private hasWork(): boolean {
    return this.runnable.length > 0 || (this.hedges !== undefined && this.hedges.length > 0) ||
      (this.admitting && !(this.upstreamDone && this.inputOffset >= this.input.length))
  }

  /**
   * Starts the next action. One that is already complete when `f` returns
   * it (`Effect.succeed`, `Effect.fail`, … are `Exit`s) settles right here,
   * and the next is taken, with no trip through the runtime: instant actions
   * cost what a loop iteration costs. After `SYNC_BUDGET` of them in a row
   * the worker yields, so that it never holds the thread for long.
   */
  private step(worker: Worker<A, B>): Effect.Effect<void, never, R> {
    const next = this.nextStep(worker)
    this.metrics?.flush()
    return next
  }

  private nextStep(worker: Worker<A, B>): Effect.Effect<void, never, R> {
    const metrics = this.metrics
    // With `name`: one clock read per action, the end of one being the start of the next.
    let now = metrics === undefined ? 0 : metrics.now()
    for (let budget = SYNC_BUDGET; budget > 0; budget--) {
      const hedged = this.hedges === undefined ? undefined : this.takeCopy()
      if (hedged !== undefined) return this.runCopy(worker, hedged)
      const entry = this.take()
      if (entry === undefined) return this.idle()
      const action = this.call(worker, entry, now)
      if (!Exit.isExit(action)) {
        if (this.headWatch !== undefined && this.isHead(entry)) this.headWatch.push(entry)
        return this.run(worker, entry, action, this.options.timeout)
      }
      if (metrics !== undefined) now = metrics.now()
      if (action._tag === "Success") worker.file.onSuccess(action.value as B, now)
      else worker.file.onFailure(action.cause, now)
      if (!this.hasWork()) return Effect.void
    }
    return Effect.yieldNow()
  }

  /** Nothing to start: pull upstream if it is this worker's turn, grow an automatic window, else park. */
  private idle(): Effect.Effect<void, never, R> {
    if (
      this.admitting && !this.pulling && !this.upstreamDone && this.inputOffset >= this.input.length &&
      this.admitted < this.window
    ) return this.pullUpstream()
    if (this.growWindow(1 + this.parked.length + this.concurrency() - this.spawned)) return Effect.void
    return this.park
  }

  /**
   * `window: "auto"`: room for `idle` more workers when the full window keeps
   * them from input while the consumer waits for the next result in order.
   */
  private growWindow(idle: number): boolean {
    const auto = this.autoWindow
    if (
      auto === undefined || idle <= 0 || this.consumer === undefined || !this.admitting ||
      this.admitted < this.window || !auto.canGrow || (this.upstreamDone && this.inputOffset >= this.input.length)
    ) return false
    this.window = auto.grow(idle)
    return true
  }

  /** The next action to start: one freed by its key, else the next admitted. */
  private take(): Entry<A, B> | undefined {
    let entry = this.runnable.shift()
    while (entry !== undefined && entry.index >= this.startLimit) entry = this.runnable.shift()
    if (entry !== undefined) return entry
    while (this.admitting && this.admitted < this.window && this.inputOffset < this.input.length) {
      const admitted = this.admit(this.input[this.inputOffset++])
      if (admitted !== undefined) return admitted
    }
    return undefined
  }

  /** Takes one input into the window; returns it if it may start now. */
  private admit(input: A): Entry<A, B> | undefined {
    const entry: Entry<A, B> = {
      index: this.nextIndex++,
      input,
      lane: undefined,
      state: WAITING,
      output: undefined,
      cause: undefined,
      startedAt: 0,
      finishedAt: 0,
      span: undefined,
      copy: undefined
    }
    this.admitted++
    this.metrics?.admitted()
    this.pending?.push(entry)
    const keyOf = this.options.key
    if (keyOf === undefined) return entry
    let key: Key
    try {
      key = checkKey(keyOf(input), entry.index)
    } catch (defect) {
      this.fail(entry, Cause.die(defect))
      return undefined
    }
    let lane = this.lanes.get(key)
    if (lane === undefined) {
      lane = {
        key,
        running: 0,
        waiting: undefined,
        pending: this.options.order === "key" && this.options.keyConcurrency > 1 ? new Fifo(2) : undefined
      }
      this.lanes.set(key, lane)
    }
    entry.lane = lane
    lane.pending?.push(entry)
    if (lane.running < this.options.keyConcurrency) {
      lane.running++
      return entry
    }
    ;(lane.waiting ??= new Fifo(2)).push(entry)
    return undefined
  }

  /**
   * Marks `entry` running on `worker` since `now` and calls `f`; a throw or a
   * non-Effect becomes a defect.
   */
  private call(worker: Worker<A, B>, entry: Entry<A, B>, now: number): Effect.Effect<B, unknown, R> {
    entry.state = RUNNING
    worker.entry = entry
    if (this.metrics !== undefined) {
      entry.startedAt = now
      entry.span = this.metrics.started(entry.index, entry.lane?.key)
    } else if (this.headWatch !== undefined) entry.startedAt = this.headWatch.now()
    if (this.limiter !== undefined) this.limitStarted(worker)
    try {
      const action = this.f(entry.input, entry.index)
      return Effect.isEffect(action) ? action : Effect.die(V.invalid(`f(input ${entry.index})`, "an Effect", action))
    } catch (defect) {
      return Effect.die(defect)
    }
  }

  /** Runs an action that has yet to complete, under `timeout` if one is given. */
  private run(
    worker: Worker<A, B>,
    entry: Entry<A, B>,
    action: Effect.Effect<B, unknown, R>,
    timeout: Duration.Duration | undefined
  ): Effect.Effect<void, never, R> {
    // Hand the rest of the work to other workers before this one waits.
    const recruit = this.recruit()
    if (entry.span !== undefined) action = Effect.withParentSpan(action, entry.span)
    if (timeout !== undefined) {
      // The timeout runs the action on a fiber of its own.
      if (this.graft !== undefined) action = this.graft(action)
      action = Effect.timeoutFail(action, {
        duration: timeout,
        onTimeout: () => new ActionTimeoutError({ index: entry.index, timeout: this.options.timeout! })
      })
    }
    // An interrupted worker skips these handlers: interruption is not a result.
    const settled = Effect.matchCauseEffect(action, worker.settleHedged ?? worker.settle)
    return recruit === undefined ? settled : Effect.zipRight(recruit, settled)
  }

  // ---------------------------------------------------------------- hedging

  /** Whether `entry` is the lowest index not yet emitted (of its key, under `order: "key"`). */
  private isHead(entry: Entry<A, B>): boolean {
    const queue = this.pending ?? entry.lane?.pending
    // Without a queue, an action leaves as it completes: nothing waits behind it but itself.
    return queue === undefined || queue.peek() === entry
  }

  /** `HeadWatch` found `entry` overdue: its copy waits for a worker, ahead of new actions. */
  private hedge(entry: Entry<A, B>): Effect.Effect<void, never, R> {
    entry.copy = { started: false, live: 2, failure: undefined }
    this.hedges!.push(entry)
    return this.recruit() ?? Effect.void
  }

  /** The next copy to start, skipping actions settled (or cut off by a failure) meanwhile. */
  private takeCopy(): Entry<A, B> | undefined {
    const hedges = this.hedges!
    let entry = hedges.shift()
    while (entry !== undefined && (entry.state !== RUNNING || entry.index >= this.startLimit)) entry = hedges.shift()
    return entry
  }

  /** Starts the copy of `entry` as attempt 2, under what is left of the first attempt's `timeout`. */
  private runCopy(worker: Worker<A, B>, entry: Entry<A, B>): Effect.Effect<void, never, R> {
    entry.copy!.started = true
    worker.entry = entry
    if (this.limiter !== undefined) this.limitStarted(worker)
    let action: Effect.Effect<B, unknown, R>
    try {
      const made = this.f(entry.input, entry.index)
      action = Effect.isEffect(made)
        ? Effect.locally(made, currentAttempt, 2)
        : Effect.die(V.invalid(`f(input ${entry.index})`, "an Effect", made))
    } catch (defect) {
      action = Effect.die(defect)
    }
    const timeout = this.options.timeout
    const left = timeout === undefined
      ? undefined
      : Duration.millis(Math.max(0, Duration.toMillis(timeout) - (this.headWatch!.now() - entry.startedAt)))
    return this.run(worker, entry, action, left)
  }

  /**
   * One attempt of a hedged action settled, with `cause` if it failed.
   * Success, or a timeout (which covers both attempts), ends the other
   * attempt. A failure while the other may still succeed is kept, and leaves
   * the action running (returns `undefined`); the action's failure is
   * returned once it is final: both causes when both attempts failed.
   */
  private settleCopy(entry: Entry<A, B>, cause: Cause.Cause<unknown> | undefined): Cause.Cause<unknown> | undefined {
    const copy = entry.copy!
    copy.live--
    if (cause === undefined) return undefined
    if (copy.live > 0) {
      copy.failure = cause
      return undefined
    }
    return copy.failure === undefined ? cause : Cause.sequential(copy.failure, cause)
  }

  private settleHedged(worker: Worker<A, B>): Settle<B> {
    const settle = worker.settle
    return {
      onFailure: (cause) => {
        const ending = this.endRival(worker, cause)
        return ending === undefined ? settle.onFailure(cause) : Effect.zipRight(ending, Effect.suspend(() => settle.onFailure(cause)))
      },
      onSuccess: (output) => {
        const ending = this.endRival(worker, undefined)
        return ending === undefined ? settle.onSuccess(output) : Effect.zipRight(ending, Effect.suspend(() => settle.onSuccess(output)))
      }
    }
  }

  /**
   * When `worker`'s attempt decides its action (a success, or a timeout,
   * which covers both attempts) while the other attempt is still on: ends
   * that one first, so that the action's result is filed (and its key freed)
   * only once the other attempt's finalizers have run. A copy still waiting
   * for a worker is simply dropped.
   */
  private endRival(worker: Worker<A, B>, cause: Cause.Cause<unknown> | undefined): Effect.Effect<void> | undefined {
    const entry = worker.entry
    const copy = entry?.copy
    if (copy === undefined || copy.live < 2 || (cause !== undefined && !this.isTimeout(entry!, cause))) return undefined
    copy.live--
    for (const rival of this.workers) {
      if (rival !== worker && rival.entry === entry) return this.retire(rival)
    }
    return undefined
  }

  private isTimeout(entry: Entry<A, B>, cause: Cause.Cause<unknown>): boolean {
    const failure = Cause.failureOption(cause)
    return failure._tag === "Some" && failure.value instanceof ActionTimeoutError && failure.value.index === entry.index
  }

  /**
   * Interrupts a worker running the losing attempt and waits for it to end
   * (its finalizers run); its place is then free for a new worker, so that
   * no more than `concurrency` actions ever run.
   */
  private retire(worker: Worker<A, B>): Effect.Effect<void> {
    worker.entry = undefined
    this.limiter?.dropped(worker.startedAt, this.clock!.unsafeCurrentTimeMillis(), false)
    worker.fiber.addObserver(() => {
      this.spawned--
      this.workers.splice(this.workers.indexOf(worker), 1)
      this.fibers.splice(this.fibers.indexOf(worker.fiber), 1)
    })
    return Effect.asVoid(Fiber.interrupt(worker.fiber))
  }

  // ------------------------------------------------- concurrency: "auto"
  // The limiter (concurrencyLimit.ts) decides; the engine reads `limit` where
  // it would read `concurrency`, and tells it when each attempt starts and ends.

  /** How many workers may run: `concurrency`, or the limit of `concurrency: "auto"` now. */
  private concurrency(): number {
    return this.limiter === undefined ? this.options.concurrency : this.limiter.limit
  }

  /** Whether a worker must leave, the limit having fallen below the workers there are. */
  private overLimit(): boolean {
    return this.limiter !== undefined && this.spawned > this.limiter.limit
  }

  private readonly startLimiter: Effect.Effect<void> = Effect.suspend(() =>
    this.limiter === undefined ? Effect.void : Effect.clockWith((clock) =>
      Effect.sync(() => {
        this.clock = clock
      })
    )
  )

  private limitStarted(worker: Worker<A, B>): void {
    worker.startedAt = this.clock!.unsafeCurrentTimeMillis()
    this.limiter!.started(worker.startedAt)
  }

  /** A failed attempt: a timeout is an overload, which backs the limit off; another failure is not. */
  private limitDropped(worker: Worker<A, B>, entry: Entry<A, B>, cause: Cause.Cause<unknown>): void {
    this.limiter!.dropped(worker.startedAt, this.clock!.unsafeCurrentTimeMillis(), this.isTimeout(entry, cause))
  }

  private pullUpstream(): Effect.Effect<void, never, R> {
    this.pulling = true
    return Effect.matchCause(this.source.pull(this.window - this.admitted), {
      onFailure: (cause) => {
        this.pulling = false
        // After an action's failure (total order) that failure comes first:
        // upstream's, which lies after every admitted action, is moot.
        if (this.admitting) this.abort(cause)
      },
      onSuccess: (chunk) => {
        this.pulling = false
        if (chunk === undefined) {
          this.upstreamDone = true
          this.input = []
          this.inputOffset = 0
          this.wakeAll()
          if (this.admitted === 0) this.wakeConsumer()
        } else {
          this.input = chunk
          this.inputOffset = 0
          this.wakeForWork()
        }
      }
    })
  }

  private readonly park: Effect.Effect<void> = Effect.async<void>((resume) => {
    this.parked.push(resume)
    return Effect.sync(() => {
      const at = this.parked.indexOf(resume)
      if (at >= 0) this.parked.splice(at, 1)
    })
  })

  private readonly arrived = Effect.sync(() => {
    this.onTheWay--
  })

  /**
   * How many more actions could start now: those freed by their key, plus
   * what the window admits of the buffered input (or one worker to pull).
   */
  private startableWork(): number {
    const ready = this.runnable.length + (this.hedges?.length ?? 0)
    if (!this.admitting) return ready
    const room = this.window - this.admitted
    const buffered = this.input.length - this.inputOffset
    const more = this.upstreamDone || this.pulling ? buffered : Math.max(buffered, 1)
    return ready + Math.min(room, more)
  }

  /** Wakes parked workers for the work no worker on its way will take; returns how much is left. */
  private wakeForWork(): number {
    let wanted = this.startableWork() - this.onTheWay
    while (wanted > 0 && this.parked.length > 0) {
      this.onTheWay++
      this.parked.pop()!(this.arrived)
      wanted--
    }
    return wanted
  }

  /**
   * Workers for the work that remains, all at once rather than one after
   * another: parked ones first, then new fibers while fewer than
   * `concurrency` were forked.
   */
  private recruit(): Effect.Effect<void, never, R> | undefined {
    const count = Math.min(this.wakeForWork(), this.concurrency() - this.spawned)
    return count > 0 ? this.spawn(count) : undefined
  }

  private wakeAll(): void {
    const parked = this.parked.splice(0)
    for (const resume of parked) resume(Effect.void)
  }

  private wakeConsumer(): void {
    const consumer = this.consumer
    if (consumer !== undefined) {
      this.consumer = undefined
      consumer(Effect.void)
    }
  }

  // ------------------------------------------------------------- completion

  private complete(entry: Entry<A, B>): void {
    const lane = entry.lane
    if (lane !== undefined) {
      // The key's slot passes straight to its next waiting action, so that no
      // action admitted meanwhile can take it out of input order.
      const next = lane.waiting?.shift()
      if (next !== undefined) this.runnable.push(next)
      else lane.running--
    }
    // Where order must be restored, the done prefix leaves; otherwise (order
    // "none", or one action of a key at a time, which completes in input
    // order) the result leaves now.
    const ordering = this.pending ?? lane?.pending
    if (ordering !== undefined) {
      this.emitReady(ordering)
    } else {
      this.output.push(entry.output as B)
      this.metrics?.released(entry.finishedAt, entry.finishedAt)
      this.wakeConsumer()
    }
    if (lane !== undefined && lane.running === 0 && !lane.waiting?.length && !lane.pending?.length) {
      this.lanes.delete(lane.key)
    }
  }

  /** Moves the done prefix of `queue` to the output; stops at a failure. */
  private emitReady(queue: Fifo<Entry<A, B>>): void {
    let head = queue.peek()
    if (head === undefined || head.state < DONE) return
    const metrics = this.metrics
    const now = metrics?.now() ?? 0
    while (head !== undefined && head.state === DONE) {
      queue.shift()
      this.output.push(head.output as B)
      metrics?.released(head.finishedAt, now)
      head = queue.peek()
    }
    if (head !== undefined && head.state === RUNNING && head.copy === undefined) this.headWatch?.push(head)
    if (head !== undefined && head.state === FAILED) this.terminal = head.cause
    this.wakeConsumer()
  }

  /**
   * An action failed. In total order its failure takes its place in the
   * order: earlier actions still run and are emitted, later ones are
   * interrupted and none starts. In the other orders it ends the run now.
   */
  private fail(entry: Entry<A, B>, cause: Cause.Cause<unknown>): void {
    entry.state = FAILED
    entry.cause = cause
    if (this.options.order !== "total") return this.abort(cause)
    if (entry.index >= this.startLimit) return
    this.startLimit = entry.index
    this.admitting = false
    this.interruptWorkers((running) => running.index > entry.index)
    this.wakeAll()
    this.emitReady(this.pending!)
  }

  /** Ends the run with `cause` once the released output is handed over. */
  private abort(cause: Cause.Cause<unknown>): void {
    if (this.terminal !== undefined) return
    this.terminal = cause
    this.admitting = false
    this.startLimit = -1
    this.interruptWorkers(() => true)
    this.wakeAll()
    this.wakeConsumer()
  }

  private interruptWorkers(predicate: (running: Entry<A, B>) => boolean): void {
    for (const worker of this.workers) {
      if (worker.entry !== undefined && predicate(worker.entry)) {
        this.metrics?.interrupted(worker.entry.span, this.interruptor!)
        worker.entry = undefined
        worker.fiber.unsafeInterruptAsFork(this.interruptor!)
      }
    }
  }
}

/** Most already-complete actions one worker settles in a row before it yields. */
const SYNC_BUDGET = 256

// ----------------------------------------------------------------- sources

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

/** Reads a stream's chunks through its pull. */
export const streamSource = <A, E, R>(
  pull: Effect.Effect<Chunk.Chunk<A>, Option.Option<E>, R>
): Source<A, E, R> => {
  const next: Effect.Effect<ReadonlyArray<A> | undefined, E, R> = Effect.matchEffect(pull, {
    onFailure: (error) => Option.isNone(error) ? Effect.succeed(undefined) : Effect.fail(error.value),
    onSuccess: (chunk) => Chunk.isEmpty(chunk) ? next : Effect.succeed(Chunk.toReadonlyArray(chunk))
  })
  // The stream's own scope closes it.
  return { pull: () => next, close: Effect.void }
}
