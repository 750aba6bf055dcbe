/**
 * The public import, run as each runtime runs it: Deno reads `src/` through
 * deno.json's import map, Bun and Node read the built `dist/` through
 * package.json's `exports`. Prints one JSON line; test/runtimes/run.mjs checks it.
 */
import { Effect, Stream } from "effect"
import { ActionTimeoutError, Ordered } from "effect-ordered"

const latency = (i: number) => `${(i * 37) % 11} millis` as const

const program = Effect.gen(function*() {
  const streamed = yield* Stream.range(0, 99).pipe(
    Ordered.mapEffect((n, i) => Effect.as(Effect.sleep(latency(i)), n * 2), { concurrency: 8 }),
    Stream.runCollect
  )
  const keyed = yield* Ordered.forEach(
    ["a", "b", "a", "c", "b", "a"],
    (k, i) => Effect.as(Effect.sleep(latency(i)), `${k}${i}`),
    { concurrency: 3, key: (k) => k }
  )
  const timedOut = yield* Ordered.forEach([1], () => Effect.never, { concurrency: 1, timeout: "5 millis" }).pipe(
    Effect.flip
  )
  return {
    ordered: Array.from(streamed).every((n, i) => n === i * 2) && streamed.length === 100,
    keyed,
    timeout: timedOut instanceof ActionTimeoutError && timedOut.index === 0
  }
})

Effect.runPromise(program).then((result) => console.log(JSON.stringify(result)))
