import { Fifo } from "./fifo.ts"
import { checkKey, type Key, type ResolvedOptions } from "./options.ts"
import { DONE, type Task } from "./task.ts"

/**
 * The orders (`options.order`): which results may leave, and when. Each
 * order owns its queues: the engine admits tasks into it, reports each
 * completion to it, and gets back, through an `Outlet`, the results it
 * releases in order. A `key`, when given, also gates starts under every
 * order: at most `keyConcurrency` actions of a key run at once, started in
 * input order (`Lanes`).
 *
 * - `total`: one FIFO of admitted tasks in input order; its done prefix leaves.
 * - `key`: with one action of a key at a time (the default), a key's actions
 *   complete in input order and leave as they complete; with more, each
 *   key's lane keeps a FIFO and its done prefix leaves.
 * - `none`: results leave as they complete.
 *
 * @internal
 */
export interface Ordering<A, B> {
  /** Tasks their key let go (their key's previous action completed), in the order they may start. */
  readonly freed: Fifo<Task<A, B>>
  /**
   * Takes a task into the order; whether it may start now (else it waits for
   * its key and comes back through `freed`). Throws what `options.key`
   * throws, or the error for a key that is no string or number.
   */
  admit(task: Task<A, B>): boolean
  /** `task` completed (state `DONE`): frees its key and releases what may now leave. */
  complete(task: Task<A, B>, outlet: Outlet<A, B>): void
  /** `task` failed under total order: what completed before it still leaves. */
  failed(task: Task<A, B>, outlet: Outlet<A, B>): void
  /** Whether `task` is what the order waits for: the lowest index not yet released (of its key, under `order: "key"`). */
  isHead(task: Task<A, B>): boolean
  /**
   * Whether the next input, to be admitted as `index`, would leave at once if
   * its action completed now: nothing it must follow waits, and no action of
   * its key is in the window. Reads its key, once: `admit` takes it from here.
   */
  releasesAtOnce(input: A, index: number): boolean
}

/** Where an order releases results: the engine's output. @internal */
export interface Outlet<A, B> {
  /** `task`'s result leaves, in order; `at`: the Clock ms of the completion that released it (read with `name`). */
  release(task: Task<A, B>, at: number): void
  /** Some results were released, and the order now waits for `head`, not done (running, or failed). */
  waitsFor(head: Task<A, B>): void
}

/** The order `options` ask for. @internal */
export const makeOrdering = <A, B>(options: ResolvedOptions<A>): Ordering<A, B> => {
  const lanes = options.key === undefined
    ? undefined
    : new Lanes<A, B>(options.key, options.keyConcurrency, options.order === "key" && options.keyConcurrency > 1)
  switch (options.order) {
    case "total":
      return new TotalOrder(lanes, Math.min(options.window, 1024))
    case "key":
      return new KeyOrder(lanes!)
    case "none":
      return new NoOrder(lanes)
  }
}

/** Tasks a lane releases as they complete need no queue: one shared, always empty, stands for `freed` without a key. */
const NONE_FREED = new Fifo<never>(2)

/**
 * A key's lane: created on the key's first action, dropped when the key has
 * nothing inside the window.
 *
 * @internal
 */
export interface Lane<A, B> {
  readonly key: Key
  /** Actions of the key running, or freed and about to run. */
  running: number
  /** Admitted actions waiting for the key, in input order (made on first need). */
  waiting: Fifo<Task<A, B>> | undefined
  /** Under `order: "key"` with `keyConcurrency > 1`: the key's actions not yet released, in input order. */
  readonly pending: Fifo<Task<A, B>> | undefined
}

/** Per-key start gates: at most `keyConcurrency` actions of a key run, started in input order. */
class Lanes<A, B> {
  private readonly byKey = new Map<Key, Lane<A, B>>()
  readonly freed = new Fifo<Task<A, B>>()
  /** The last key read (or what reading it threw), and its input's index: read before admission, a key is not read again. */
  private readIndex = -1
  private readKey: Key = 0
  private readThrew = false
  private readError: unknown = undefined

  constructor(
    private readonly keyOf: (a: A) => Key,
    private readonly keyConcurrency: number,
    /** Whether each lane keeps its unreleased tasks, to release them in order. */
    private readonly ordered: boolean
  ) {}

  /** Puts `task` in its key's lane; whether it may start now. */
  admit(task: Task<A, B>): boolean {
    this.read(task.input, task.index)
    if (this.readThrew) throw this.readError
    const key = this.readKey
    let lane = this.byKey.get(key)
    if (lane === undefined) {
      lane = { key, running: 0, waiting: undefined, pending: this.ordered ? new Fifo(2) : undefined }
      this.byKey.set(key, lane)
    }
    task.lane = lane
    lane.pending?.push(task)
    if (lane.running < this.keyConcurrency) {
      lane.running++
      return true
    }
    ;(lane.waiting ??= new Fifo(2)).push(task)
    return false
  }

  /** Reads the key of the input admitted as `index`, unless it was read: what it returned, or what reading it threw. */
  private read(input: A, index: number): void {
    if (index === this.readIndex) return
    this.readIndex = index
    try {
      this.readKey = checkKey(this.keyOf(input), index)
      this.readThrew = false
      this.readError = undefined
    } catch (error) {
      this.readThrew = true
      this.readError = error
    }
  }

  /**
   * Whether no action of the input's key is in the window. False for a key
   * that throws: `admit` throws it, and the action fails in its place.
   */
  idle(input: A, index: number): boolean {
    this.read(input, index)
    return !this.readThrew && !this.byKey.has(this.readKey)
  }

  /**
   * `task` completed: its key's slot passes straight to the key's next
   * waiting action, so that no action admitted meanwhile can take it out of
   * input order.
   */
  free(task: Task<A, B>): void {
    const lane = task.lane!
    const next = lane.waiting?.shift()
    if (next !== undefined) this.freed.push(next)
    else lane.running--
  }

  /** Drops `lane` once its key has nothing inside the window. */
  tidy(lane: Lane<A, B>): void {
    if (lane.running === 0 && !lane.waiting?.length && !lane.pending?.length) this.byKey.delete(lane.key)
  }
}

/** Releases the done prefix of `queue`; then tells the outlet what the order waits for. */
const releaseDonePrefix = <A, B>(queue: Fifo<Task<A, B>>, outlet: Outlet<A, B>, at: number): void => {
  let head = queue.peek()
  if (head === undefined || head.state < DONE) return
  while (head !== undefined && head.state === DONE) {
    queue.shift()
    outlet.release(head, at)
    head = queue.peek()
  }
  if (head !== undefined) outlet.waitsFor(head)
}

class TotalOrder<A, B> implements Ordering<A, B> {
  /** Every admitted task not yet released, in input order. */
  private readonly pending: Fifo<Task<A, B>>
  readonly freed: Fifo<Task<A, B>>

  constructor(private readonly lanes: Lanes<A, B> | undefined, capacity: number) {
    this.pending = new Fifo(capacity)
    this.freed = lanes?.freed ?? NONE_FREED
  }

  admit(task: Task<A, B>): boolean {
    // In the order before its key is read: a key that throws fails the task in its place.
    this.pending.push(task)
    return this.lanes === undefined || this.lanes.admit(task)
  }

  complete(task: Task<A, B>, outlet: Outlet<A, B>): void {
    this.lanes?.free(task)
    releaseDonePrefix(this.pending, outlet, task.finishedAt)
    if (task.lane !== undefined) this.lanes!.tidy(task.lane)
  }

  failed(task: Task<A, B>, outlet: Outlet<A, B>): void {
    releaseDonePrefix(this.pending, outlet, task.finishedAt)
  }

  isHead(task: Task<A, B>): boolean {
    return this.pending.peek() === task
  }

  releasesAtOnce(input: A, index: number): boolean {
    return this.pending.length === 0 && (this.lanes === undefined || this.lanes.idle(input, index))
  }
}

class KeyOrder<A, B> implements Ordering<A, B> {
  readonly freed: Fifo<Task<A, B>>

  constructor(private readonly lanes: Lanes<A, B>) {
    this.freed = lanes.freed
  }

  admit(task: Task<A, B>): boolean {
    return this.lanes.admit(task)
  }

  complete(task: Task<A, B>, outlet: Outlet<A, B>): void {
    const lane = task.lane!
    this.lanes.free(task)
    // One action of a key at a time: they complete in input order, and leave as they do.
    if (lane.pending === undefined) outlet.release(task, task.finishedAt)
    else releaseDonePrefix(lane.pending, outlet, task.finishedAt)
    this.lanes.tidy(lane)
  }

  failed(): void {}

  isHead(task: Task<A, B>): boolean {
    const pending = task.lane!.pending
    return pending === undefined || pending.peek() === task
  }

  releasesAtOnce(input: A, index: number): boolean {
    return this.lanes.idle(input, index)
  }
}

class NoOrder<A, B> implements Ordering<A, B> {
  readonly freed: Fifo<Task<A, B>>

  constructor(private readonly lanes: Lanes<A, B> | undefined) {
    this.freed = lanes?.freed ?? NONE_FREED
  }

  admit(task: Task<A, B>): boolean {
    return this.lanes === undefined || this.lanes.admit(task)
  }

  complete(task: Task<A, B>, outlet: Outlet<A, B>): void {
    this.lanes?.free(task)
    outlet.release(task, task.finishedAt)
    if (task.lane !== undefined) this.lanes!.tidy(task.lane)
  }

  failed(): void {}

  /** Results leave as they complete: nothing waits behind an action but itself. */
  isHead(): boolean {
    return true
  }

  releasesAtOnce(input: A, index: number): boolean {
    return this.lanes === undefined || this.lanes.idle(input, index)
  }
}
