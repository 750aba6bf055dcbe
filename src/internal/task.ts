import type * as Cause from "effect/Cause"
import type * as Tracer from "effect/Tracer"
import type { Copy } from "./hedge.ts"
import type { Lane } from "./ordering.ts"

/** Admitted, not started: waits for its key, or for a worker. @internal */
export const WAITING = 0
/** @internal */
export const RUNNING = 1
/** @internal */
export const DONE = 2
/** @internal */
export const FAILED = 3

/**
 * One action taken from upstream into the window, from its admission until
 * its result is handed over. One plain object per action, and the only one:
 * each policy keeps what it needs of the action here (its key's lane, its
 * hedged copy, its span) instead of in a map of its own.
 *
 * @internal
 */
export interface Task<A, B> {
  /** Position in the input, from 0. */
  readonly index: number
  readonly input: A
  state: typeof WAITING | typeof RUNNING | typeof DONE | typeof FAILED
  output: B | undefined
  cause: Cause.Cause<unknown> | undefined
  /** With a `key`: its key's lane (`ordering.ts`). */
  lane: Lane<A, B> | undefined
  /** With `name` or `hedge`: when its first attempt started (Clock ms). */
  startedAt: number
  /** With `name`: when it ended (Clock ms), and its span. */
  finishedAt: number
  span: Tracer.Span | undefined
  /** With `hedge`: set once a second copy is asked for (`hedge.ts`). */
  copy: Copy | undefined
}

/** @internal */
export const makeTask = <A, B>(index: number, input: A): Task<A, B> => ({
  index,
  input,
  state: WAITING,
  output: undefined,
  cause: undefined,
  lane: undefined,
  startedAt: 0,
  finishedAt: 0,
  span: undefined,
  copy: undefined
})
