/**
 * `node --import tsx --import ./test/utils/effect4.ts script.ts`: the script runs on effect 4. Node's counterpart of
 * the `effect4` vitest project's aliases (vitest.config.ts), for child processes (test/utils/child.ts): `effect`,
 * `effect/*` and `@effect/vitest` resolve to the `effect4` and `@effect/vitest4` npm aliases.
 */
import { register } from "node:module"
import { isMainThread } from "node:worker_threads"

// Loaded by `--import` on the main thread, this file registers itself; Node loads it again as the hooks module.
if (isMainThread) register(import.meta.url)

const aliases: ReadonlyArray<readonly [RegExp, string]> = [
  // effect 4 moved the test services under `effect/testing`
  [/^effect\/(TestClock|TestConsole)$/, "effect4/testing/$1"],
  [/^effect\/(.*)$/, "effect4/$1"],
  [/^effect$/, "effect4"],
  [/^@effect\/vitest$/, "@effect/vitest4"]
]

type Resolve = (specifier: string, context: unknown) => unknown

/** The resolve hook: an aliased specifier is resolved as its target, any other as it is. */
export const resolve = (specifier: string, context: unknown, next: Resolve): unknown => {
  const alias = aliases.find(([pattern]) => pattern.test(specifier))
  return next(alias === undefined ? specifier : specifier.replace(alias[0], alias[1]), context)
}
