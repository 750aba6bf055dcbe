import * as Cause from "effect/Cause"
import type { Handoff } from "./handoff.ts"
import type { PipelineMetrics } from "./metrics.ts"
import type { Ordering } from "./ordering.ts"
import type { Intake } from "./source.ts"
import { makeTask, RUNNING, type Task } from "./task.ts"
import type { Window } from "./window.ts"

/** A worker, as admission sees the one that runs an action untracked (`Worker`). @internal */
export interface Runner<A, B> {
  task: Task<A, B> | undefined
  filedAt: number | undefined
}

/**
 * What may start next: inputs taken from upstream into the window (each
 * numbered in input order), the actions their key let go, and the bounds a
 * failure sets (nothing more admitted; in total order, nothing after the
 * failed action started). The engine asks it for the next action and tells
 * it when a failure stops admission.
 *
 * @internal
 */
export class Admission<A, B> {
  /** The index the next input taken from upstream gets. */
  nextIndex = 0
  /** False once a failure is known: nothing more is taken from upstream. */
  admitting = true
  /** Only actions before this index may still start (total order after a failure). */
  startLimit = Infinity
  /** With `name`: counts admissions, and times the action running untracked. */
  metrics: PipelineMetrics | undefined
  /**
   * The runner of the one action running without a `Task` (`startUntracked`),
   * if any, and that action's index, input and start (Clock ms, with `name`).
   */
  private untrackedRunner: Runner<A, B> | undefined
  private untrackedIndex = 0
  private untrackedInput: A | undefined
  /** When the action running untracked started (Clock ms, with `name`): set by the engine once it starts. */
  untrackedStartedAt = 0

  constructor(
    private readonly intake: Intake<A, unknown>,
    private readonly window: Window,
    private readonly ordering: Ordering<A, B>,
    private readonly handoff: Handoff<A, B, unknown>,
    /** The order threw on an admitted action (a key function's defect): the engine fails it. */
    private readonly onDefect: (task: Task<A, B>, cause: Cause.Cause<unknown>) => void
  ) {}

  /** Whether the window admits the next buffered input now. */
  canAdmit(): boolean {
    return this.admitting && this.window.admitted < this.window.size && this.intake.buffered > 0
  }

  /** The next action to start: one its key let go, else the next admitted. */
  take(): Task<A, B> | undefined {
    const freed = this.ordering.freed
    let task = freed.shift()
    while (task !== undefined && task.index >= this.startLimit) task = freed.shift()
    if (task !== undefined) return task
    while (this.canAdmit()) {
      const admitted = this.admit(this.intake.next())
      if (admitted !== undefined) return admitted
    }
    return undefined
  }

  /** Takes one input into the window; returns it if it may start now. */
  admit(input: A): Task<A, B> | undefined {
    // What follows the action running untracked waits for it: it takes its place in the order first.
    this.track()
    const task = makeTask<A, B>(this.nextIndex++, input)
    this.window.admitted++
    this.metrics?.admitted()
    try {
      return this.ordering.admit(task) ? task : undefined
    } catch (defect) {
      this.onDefect(task, Cause.die(defect))
      return undefined
    }
  }

  /**
   * Direct mode: whether the next input's action would leave as soon as it
   * completes (`Ordering.releasesAtOnce`), with no action running untracked
   * before it.
   */
  releasesAtOnce(input: A): boolean {
    return this.untrackedRunner === undefined && this.ordering.releasesAtOnce(input, this.nextIndex)
  }

  /**
   * Direct mode: the action of the next input succeeded at once while nothing
   * it must follow waited (`releasesAtOnce`), so its value leaves now, in order,
   * with no `Task` made for it: it takes its place in the window as an
   * admitted action that was handed over at once would.
   */
  releaseDirect(value: B): void {
    this.nextIndex++
    this.window.admitted++
    this.handoff.put(value)
  }

  /**
   * Direct mode, without a key: the action of the next input, which
   * `releasesAtOnce`, has yet to complete, and `runner` runs it with no `Task`
   * made for it (its start: `untrackedStartedAt`). Should it succeed before
   * anything else is admitted, it leaves as `releaseDirect` lets a value leave
   * (`releaseUntracked`); the next admission, its failure, or anything else
   * that needs its record first gives it its `Task` (`track`).
   */
  startUntracked(input: A, runner: Runner<A, B>): void {
    this.untrackedIndex = this.nextIndex++
    this.untrackedInput = input
    this.untrackedRunner = runner
    this.window.admitted++
    if (this.metrics !== undefined) {
      this.metrics.admitted()
      this.metrics.started(this.untrackedIndex, undefined)
    }
  }

  /** Whether `runner` runs an action without a `Task`. */
  runsUntracked(runner: Runner<A, B>): boolean {
    return this.untrackedRunner === runner
  }

  /**
   * The action running untracked succeeded with `value`, from its runner's
   * loop (`Engine.exited`): it leaves, in order, and a consumer waiting for it
   * is woken. With `name`, the runner's next step takes the reading it was
   * timed with, as `Engine.fileExited` lets it.
   */
  releaseUntracked(value: B): void {
    const runner = this.untrackedRunner!
    this.untrackedRunner = undefined
    this.untrackedInput = undefined
    const now = this.metrics?.now()
    if (now !== undefined) {
      this.metrics!.ended(this.untrackedStartedAt, now, undefined, undefined, value)
      this.metrics!.released(now, now)
    }
    this.handoff.put(value)
    if (!this.handoff.wakeIfReady()) runner.filedAt = now
  }

  /** Gives the action running untracked, if any, its `Task`, running, in its place in the order (as its runner's `task`). */
  track(): void {
    const runner = this.untrackedRunner
    if (runner === undefined) return
    const task = makeTask<A, B>(this.untrackedIndex, this.untrackedInput as A)
    this.untrackedRunner = undefined
    this.untrackedInput = undefined
    task.state = RUNNING
    task.startedAt = this.untrackedStartedAt
    runner.task = task
    // Without a key the order takes any task at once.
    this.ordering.admit(task)
  }

  /**
   * `window: "auto"`: room for `idle` more workers when the full window keeps
   * them from input while the consumer waits for the next result in order.
   */
  growWindow(idle: number): boolean {
    return this.handoff.waiting && this.admitting && !this.intake.exhausted && this.window.grow(idle)
  }

  /**
   * How many more actions could start from upstream now: what the window
   * admits of the buffered input (or one worker to pull).
   */
  startable(): number {
    if (!this.admitting) return 0
    const room = this.window.size - this.window.admitted
    const buffered = this.intake.buffered
    const more = this.intake.ended || this.intake.pulling ? buffered : Math.max(buffered, 1)
    return Math.min(room, more)
  }

  /** Total order: the action at `index` failed; whether it is the first (the earliest) to stop what follows it. */
  stopAfter(index: number): boolean {
    if (index >= this.startLimit) return false
    this.startLimit = index
    this.admitting = false
    return true
  }

  /** The run ends: nothing more starts, and what runs is interrupted (the action running untracked too: `track`). */
  stopAll(): void {
    this.admitting = false
    this.startLimit = -1
    this.track()
  }
}
