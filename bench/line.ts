/**
 * The Effect line the bench runs on, and the one binding it needs that the
 * lines name differently, read from `effect` itself as a user would (the
 * bench reaches the library only through its package entries).
 */
import { Effect } from "effect"

// deno-lint-ignore no-explicit-any
const effect = Effect as any

/** 4 when `effect` is effect 4 (it has `forkChild`), else 3. */
export const line: 3 | 4 = typeof effect.forkChild === "function" ? 4 : 3

/** `Effect.fork` (3) / `Effect.forkChild` (4). */
export const fork: typeof Effect.fork = effect.forkChild ?? effect.fork
