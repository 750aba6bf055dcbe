/**
 * `npm run soak` (not part of `npm test`): long runs through
 * `Ordered.mapEffect` in all three orders — 10,000,000 actions with random
 * latencies in simulated time, then 1,000,000 in real time at concurrency
 * 1,000 — printing elements/s and the retained heap every 10%, and failing
 * if the heap grows past a bound derived from the window.
 *
 * The bound: the engine holds at most `window` records (one small object and
 * the result) plus `concurrency` worker fibers with their stacks; everything
 * else is garbage. Retained heap after a full collection must therefore not
 * grow between the first and the last reading by more than
 * `window × 1 KB + concurrency × 16 KB` (3 MB + 16 MB at concurrency 1,000 —
 * generous per record and per fiber; a leak of one object per action over
 * 10,000,000 actions would exceed it many times over).
 *
 * Options: `--simulated N` and `--real N` (action counts), `--orders total,key,none`.
 */
import { Duration, Effect, Stream } from "effect"
import { Ordered } from "../src/index.ts"
import { mulberry32, uniformInt } from "../src/internal/random.ts"
import { runVirtual } from "../src/internal/virtualTime.ts"
import { formatBytes, formatRate, gc, heapUsed } from "./table.ts"

type Order = "total" | "key" | "none"

const flag = (name: string, fallback: string): string => {
  const at = process.argv.indexOf(`--${name}`)
  return at >= 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1] : fallback
}
const simulatedActions = Number(flag("simulated", "10000000"))
const realActions = Number(flag("real", "1000000"))
const orders = flag("orders", "total,key,none").split(",") as Array<Order>

const retained = (): number => {
  gc()
  return heapUsed()
}

interface Soak {
  readonly label: string
  readonly actions: number
  readonly concurrency: number
  readonly order: Order
  readonly latency: (i: number) => number
  readonly run: (program: Effect.Effect<void, unknown>) => Promise<void>
}

/** Runs one soak, printing a progress line every 10%; returns whether the heap stayed within its bound. */
const soak = async (s: Soak): Promise<boolean> => {
  const window = s.concurrency * 3
  const bound = window * 1_000 + s.concurrency * 16_000
  const readings: Array<number> = []
  const step = Math.max(1, Math.floor(s.actions / 10))
  const started = performance.now()
  let lastAt = started
  let emitted = 0
  console.log(`\n${s.label}: ${s.actions.toLocaleString("en-US")} actions, order ${s.order}, concurrency ${s.concurrency}, window ${window}`)
  const program = Stream.range(0, s.actions - 1).pipe(
    Ordered.mapEffect((i) => Effect.as(Effect.sleep(Duration.millis(s.latency(i))), i), {
      concurrency: s.concurrency,
      order: s.order,
      ...(s.order === "key" ? { key: (i: number) => i % 10_007 } : {})
    }),
    Stream.runForEach(() =>
      Effect.sync(() => {
        if (++emitted % step !== 0) return
        const now = performance.now()
        const heap = retained()
        readings.push(heap)
        console.log(
          `  ${String(Math.round((emitted / s.actions) * 100)).padStart(3)}%  ${
            formatRate(step / ((now - lastAt) / 1000)).padStart(10)
          } elements/s  heap ${formatBytes(heap)}`
        )
        lastAt = performance.now()
      })
    )
  )
  await s.run(program)
  const growth = readings.length > 1 ? readings[readings.length - 1] - readings[0] : 0
  const ok = emitted === s.actions && growth <= bound
  console.log(
    `  ${ok ? "✓" : "✗"} ${formatRate(s.actions / ((performance.now() - started) / 1000))} elements/s overall; ` +
      `heap growth 10% → 100%: ${formatBytes(growth)} (bound ${formatBytes(bound)}); emitted ${emitted.toLocaleString("en-US")}`
  )
  return ok
}

const latencies = (seed: number, max: number) => {
  // One table of seeded latencies, indexed cyclically: no per-action allocation in the soak itself.
  const random = mulberry32(seed)
  const table = Array.from({ length: 65_536 }, () => uniformInt(random, 0, max))
  return (i: number) => table[i & 65_535]
}

const phases = [
  {
    label: "simulated time",
    actions: simulatedActions,
    concurrency: 100,
    latency: latencies(1, 100),
    run: async (program: Effect.Effect<void, unknown>) => {
      const { exit } = runVirtual(program)
      if (exit._tag === "Failure") throw new Error(`simulated soak failed: ${exit.cause}`)
    }
  },
  {
    label: "real time",
    actions: realActions,
    concurrency: 1_000,
    latency: latencies(2, 5),
    run: (program: Effect.Effect<void, unknown>) => Effect.runPromise(program)
  }
]
const results: Array<boolean> = []
for (const phase of phases) {
  for (const order of orders) results.push(await soak({ ...phase, order }))
}
const failed = results.filter((ok) => !ok).length
console.log(`\nsoak: ${results.length - failed} passed, ${failed} failed`)
process.exitCode = failed === 0 ? 0 : 1
