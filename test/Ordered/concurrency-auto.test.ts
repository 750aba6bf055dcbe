import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Metric, Stream } from "effect"
import { Ordered, Simulation } from "../../src/index.ts"
import { concurrencyLimit } from "../../src/internal/metrics.ts"
import { runVirtual } from "../../src/internal/virtualTime.ts"
import { WorkerPool } from "../../src/internal/workerPool.ts"
import { COUNT, MISSING, outcome, refusal, STRING, tooLarge } from "../utils/bad-input.ts"
import { makeActionProbe } from "../utils/gauge.ts"
import { TestClock, callback, fc, fork, poll, tagged } from "../utils/line.ts"

/**
 * A fake downstream: serves at most `capacity` calls at once, `call(millis)`
 * for `millis`, the others wait in FIFO order. It counts the calls it holds
 * (waiting or served).
 */
const downstream = (capacity: number) => {
  const state = { capacity, busy: 0, inFlight: 0, peak: 0, line: [] as Array<() => void> }
  const admit = () => {
    while (state.busy < state.capacity && state.line.length > 0) {
      state.busy++
      state.line.shift()!()
    }
  }
  const call = (millis: number) => Effect.acquireUseRelease(
    callback<void>((resume) => {
      state.inFlight++
      state.peak = Math.max(state.peak, state.inFlight)
      state.line.push(() => resume(Effect.void))
      admit()
    }),
    () => Effect.sleep(millis),
    () =>
      Effect.sync(() => {
        state.busy--
        state.inFlight--
        admit()
      })
  )
  const setCapacity = (next: number) => {
    state.capacity = next
    admit()
  }
  return { state, call, setCapacity }
}

const STEP_MILLIS = 5

/** Runs `program` under TestClock, `STEP_MILLIS` at a time, calling `tick` before each step. */
const drive = <A, E>(program: Effect.Effect<A, E>, tick: (millis: number) => void) =>
  Effect.gen(function*() {
    const fiber = yield* fork(program)
    for (let millis = 0; poll(fiber) === null; millis += STEP_MILLIS) {
      tick(millis)
      yield* TestClock.adjust(STEP_MILLIS)
    }
    return yield* Fiber.join(fiber)
  })

const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length

describe("concurrency: \"auto\" (the real engine under TestClock)", () => {
  it.effect("converges on a downstream's capacity, backs off when it drops, keeps order, and reports its limit", () =>
    Effect.gen(function*() {
      // 10 at a time, 10 ms each: 1 action/ms; 3 at a time from 600 ms on.
      const server = downstream(10)
      const inFlight: Array<{ millis: number; count: number }> = []
      const limitGauge = tagged(concurrencyLimit, "pipeline", "auto-test")
      const limits: Array<{ millis: number; limit: number }> = []
      const inputs = Array.from({ length: 1200 }, (_, i) => i)
      const results = yield* drive(
        Ordered.forEach(inputs, (i) => Effect.as(server.call(10), i), {
          concurrency: "auto",
          maxConcurrency: 200,
          name: "auto-test"
        }),
        (millis) => {
          if (millis === 600) server.setCapacity(3)
          inFlight.push({ millis, count: server.state.inFlight })
          const state = Effect.runSync(Metric.value(limitGauge))
          limits.push({ millis, limit: state.value })
        }
      )
      expect(results).toEqual(inputs)
      const between = (from: number, to: number) =>
        inFlight.filter((s) => s.millis >= from && s.millis < to).map((s) => s.count)
      // Converged: the downstream stays busy, and what waits in its line stays short.
      expect(mean(between(300, 600))).toBeGreaterThanOrEqual(0.9 * 10)
      expect(mean(between(300, 600))).toBeLessThanOrEqual(2 * 10)
      // Backed off once the capacity fell to 3.
      expect(mean(between(1200, 1800))).toBeLessThanOrEqual(2 * 3)
      // The gauge followed the limit: up past 10, then down to a few.
      expect(Math.max(...limits.filter((l) => l.millis < 600).map((l) => l.limit))).toBeGreaterThan(10)
      expect(limits.find((l) => l.millis === 1500)!.limit).toBeLessThanOrEqual(2 * 3)
      expect(server.state.peak).toBeLessThanOrEqual(200)
    }), 60_000)

  it.effect("workers that leave as the limit falls leave the pool: a limit that falls and rises for long keeps no more", () =>
    Effect.gen(function*() {
      const server = downstream(10)
      // Every start, how many workers the pool lists beyond those it counts as not ended.
      let listedBeyond = 0
      let starts = 0
      const started = WorkerPool.prototype.started
      WorkerPool.prototype.started = function(this: WorkerPool<unknown, unknown, unknown>, fiber) {
        const worker = started.call(this, fiber)
        starts++
        listedBeyond = Math.max(listedBeyond, this.workers.length - this.spawned)
        return worker
      }
      const inputs = Array.from({ length: 3000 }, (_, i) => i)
      const results = yield* drive(
        Ordered.forEach(inputs, (i) => Effect.as(server.call(10), i), { concurrency: "auto", maxConcurrency: 50 }),
        // The capacity swings between 10 and 2 every 200 ms: the limit falls and rises again and again.
        (millis) => {
          if (millis % 200 === 0) server.setCapacity(millis % 400 === 0 ? 10 : 2)
        }
      ).pipe(Effect.ensuring(Effect.sync(() => {
        WorkerPool.prototype.started = started
      })))
      expect(results).toEqual(inputs)
      // Workers left and others were forked in their place, many times over.
      expect(starts).toBeGreaterThan(100)
      expect(listedBeyond).toBe(0)
    }), 60_000)
})

// ------------------------------------------------------------- properties

interface Workload {
  readonly latencies: ReadonlyArray<number>
  readonly failing: ReadonlySet<number>
  /** The downstream's capacity: a busy one makes the limit move both ways. */
  readonly capacity: number
  readonly keys: number
  readonly maxConcurrency: number
  readonly windowExtra: number
  readonly order: "total" | "key" | "none"
  readonly keyConcurrency: number
  readonly hedge: boolean
}

const workload = (withFailures: boolean): fc.Arbitrary<Workload> =>
  fc.record({
    latencies: fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 0, maxLength: 400 }),
    failing: withFailures ? fc.uniqueArray(fc.integer({ min: 0, max: 399 }), { maxLength: 3 }) : fc.constant([]),
    capacity: fc.integer({ min: 1, max: 12 }),
    keys: fc.integer({ min: 0, max: 5 }),
    maxConcurrency: fc.integer({ min: 1, max: 64 }),
    windowExtra: fc.integer({ min: 0, max: 64 }),
    order: fc.constantFrom("total" as const, "key" as const, "none" as const),
    keyConcurrency: fc.integer({ min: 1, max: 3 }),
    hedge: fc.boolean()
  }).map(({ failing, keys, order, ...rest }) => ({
    ...rest,
    failing: new Set(failing),
    keys: order === "key" ? Math.max(keys, 1) : keys,
    order
  }))

const keyOf = (w: Workload) => (n: number) => n % w.keys

const run = (w: Workload) => {
  const probe = makeActionProbe(w.keys > 0 ? keyOf(w) : () => 0)
  const server = downstream(w.capacity)
  const emitted: Array<number> = []
  const program = Stream.range(0, w.latencies.length - 1).pipe(
    Stream.take(w.latencies.length),
    Ordered.mapEffect(
      (n) =>
        probe.track(
          n,
          Effect.andThen(
            server.call(w.latencies[n]),
            w.failing.has(n) ? Effect.fail(n) : Effect.succeed(n)
          )
        ),
      {
        concurrency: "auto",
        maxConcurrency: w.maxConcurrency,
        window: w.maxConcurrency + w.windowExtra,
        order: w.order,
        hedge: w.hedge ? { after: "15 millis" } : undefined,
        ...(w.keys > 0 ? { key: keyOf(w), keyConcurrency: w.keyConcurrency } : {})
      }
    ),
    Stream.runForEach((n) => Effect.sync(() => emitted.push(n)))
  )
  const { exit } = runVirtual(program)
  for (const [n, attempts] of probe.started) expect(probe.finalized.get(n)).toBe(attempts)
  return { exit, emitted, peakRunning: probe.peak(), peakPerKey: probe.peakPerKey(), running: probe.current() }
}

describe("properties with concurrency: \"auto\" (virtual time)", () => {
  it("without failures: every input emitted exactly once, in order, never more than maxConcurrency running", () => {
    fc.assert(
      fc.property(workload(false), (w) => {
        const { emitted, exit, peakPerKey, peakRunning, running } = run(w)
        const all = w.latencies.map((_, i) => i)
        expect(Exit.isSuccess(exit)).toBe(true)
        expect([...emitted].sort((a, b) => a - b)).toEqual(all)
        if (w.order === "total") expect(emitted).toEqual(all)
        if (w.order === "key") {
          const lastOfKey = new Map<number, number>()
          for (const n of emitted) {
            expect(n).toBeGreaterThan(lastOfKey.get(keyOf(w)(n)) ?? -1)
            lastOfKey.set(keyOf(w)(n), n)
          }
        }
        expect(peakRunning).toBeLessThanOrEqual(w.maxConcurrency)
        if (w.keys > 0) expect(peakPerKey).toBeLessThanOrEqual(w.keyConcurrency)
        expect(running).toBe(0)
      }),
      { numRuns: 150 }
    )
  })

  it("with failures: total order emits exactly the prefix before the first failure and fails with it", () => {
    fc.assert(
      fc.property(workload(true), (w) => {
        const { emitted, exit, peakRunning, running } = run(w)
        const firstFailure = Math.min(...[...w.failing].filter((i) => i < w.latencies.length))
        expect(running).toBe(0)
        expect(peakRunning).toBeLessThanOrEqual(w.maxConcurrency)
        expect(new Set(emitted).size).toBe(emitted.length)
        expect(Exit.isFailure(exit)).toBe(Number.isFinite(firstFailure))
        if (w.order === "total" && Number.isFinite(firstFailure)) {
          expect(emitted).toEqual(Array.from({ length: firstFailure }, (_, i) => i))
        }
        for (const n of emitted) expect(w.failing.has(n)).toBe(false)
      }),
      { numRuns: 150 }
    )
  })
})

// ------------------------------------------------------------- Simulation

describe("Simulation with a downstream capacity", () => {
  it("Latency.server serves at most capacity at once, FIFO: observed latency includes the wait", () => {
    // 40 actions of 10 ms, 10 started at once, 2 served at a time: 20 rounds of 10 ms.
    const report = Effect.runSync(Simulation.run({
      actions: 40,
      concurrency: 10,
      latency: Simulation.Latency.server({ capacity: 2, latency: Simulation.Latency.fixed([10]) })
    }))
    expect(report.makespanMillis).toBe(200)
    expect(report.timeline.map((a) => a.latencyMillis)).toEqual(Array(40).fill(10))
    // the first two are served at once; the tenth waited 4 rounds
    expect(report.timeline[0].finishMillis! - report.timeline[0].startMillis!).toBe(10)
    expect(report.timeline[9].finishMillis! - report.timeline[9].startMillis!).toBe(50)
    expect(report.latency.p50).toBeGreaterThan(10)
    expect(report.concurrencyLimit).toBeUndefined()
  })

  it("capacityChanges apply at their time", () => {
    const latency = Simulation.Latency.server({
      capacity: 1,
      latency: Simulation.Latency.fixed([10]),
      capacityChanges: [{ atMillis: 100, capacity: 10 }]
    })
    const report = Effect.runSync(Simulation.run({ actions: 110, concurrency: 10, window: Infinity, latency }))
    // 10 served one at a time by 100 ms, then the other 100 ten at a time: 10 more rounds.
    expect(report.makespanMillis).toBe(200)
  })

  it("concurrency auto: the report traces the limit; the same seed gives the same report", () => {
    const options = {
      actions: 3000,
      concurrency: "auto",
      maxConcurrency: 100,
      latency: Simulation.Latency.server({ capacity: 15, latency: Simulation.Latency.logNormal(20, 0.5) })
    } as const
    const report = Effect.runSync(Simulation.run(options))
    const limit = report.concurrencyLimit!
    expect(limit.changes[0]).toEqual({ atMillis: 0, limit: 20 })
    expect(limit.max).toBeLessThanOrEqual(100)
    expect(limit.final).toBe(limit.changes[limit.changes.length - 1].limit)
    expect(limit.mean).toBeGreaterThan(15 * 0.9)
    expect(limit.mean).toBeLessThan(15 * 2)
    expect(report.orderHeld).toBe(true)
    expect(Effect.runSync(Simulation.run(options))).toEqual(report)
  })

  it("compare gains a row per concurrency, with its observed latency p99", () => {
    const rows = Effect.runSync(Simulation.compare({
      actions: 2000,
      concurrency: 15,
      concurrencies: [60, "auto"],
      maxConcurrency: 60,
      latency: Simulation.Latency.server({ capacity: 15, latency: Simulation.Latency.logNormal(20, 0.5) })
    }))
    expect(rows.map((r) => [r.strategy, r.concurrency])).toEqual([
      ["sequential", undefined],
      ["Stream.mapEffect", 15],
      ["effect-ordered", 15],
      ["effect-ordered", 60],
      ["effect-ordered", "auto"],
      ["unbounded", 15]
    ])
    const [, , fixed, tooMany, auto] = rows
    // Above capacity, more concurrency only queues: no faster, and a longer tail.
    expect(tooMany.makespanMillis).toBeGreaterThanOrEqual(fixed.makespanMillis * 0.99)
    expect(tooMany.latencyP99Millis).toBeGreaterThan(2 * fixed.latencyP99Millis)
    expect(auto.latencyP99Millis).toBeLessThan(tooMany.latencyP99Millis)
  })
})

// ------------------------------------------------------------- bad input

describe("bad input: concurrency \"auto\" and Latency.server", () => {
  const orderedCalls = [
    ["Ordered.forEach", (o: object) => Ordered.forEach([1], Effect.succeed, o as Ordered.Options<number>)],
    ["Ordered.mapEffect", (o: object) => Ordered.mapEffect(Stream.make(1), Effect.succeed, o as Ordered.Options<number>)]
  ] as const
  for (const [name, call] of orderedCalls) {
    for (const value of [...COUNT.filter((v) => v !== STRING)]) {
      it(`${name}: maxConcurrency ${value.name}`, async () => {
        expect(await outcome(() => call({ concurrency: "auto", maxConcurrency: value.value }))).toEqual(
          refusal("defect", "options.maxConcurrency", "an integer ≥ 1", value)
        )
      })
    }
    it(`${name}: minConcurrency above maxConcurrency`, async () => {
      expect(await outcome(() => call({ concurrency: "auto", maxConcurrency: 8, minConcurrency: 9 }))).toEqual(
        refusal("defect", "options.minConcurrency", "an integer between 1 and 8", tooLarge(9))
      )
    })
    it(`${name}: maxConcurrency without concurrency "auto"`, async () => {
      const result = await outcome(() => call({ concurrency: 4, maxConcurrency: 8 }))
      expect(result).toEqual({
        _tag: "IllegalArgument",
        channel: "defect",
        message:
          "Expected `options.maxConcurrency` to come with `options.concurrency: \"auto\"`, got `8` (number) and concurrency `4` (number)"
      })
    })
    it(`${name}: concurrency "automatic"`, async () => {
      expect(await outcome(() => call({ concurrency: "automatic" }))).toEqual({
        _tag: "IllegalArgument",
        channel: "defect",
        message:
          "Expected `options.concurrency` to be an integer ≥ 1, \"auto\", \"unbounded\" or \"inherit\", got `\"automatic\"` (string)"
      })
    })
  }

  const server = (fields: object) => Simulation.Latency.server({ capacity: 2, ...fields } as never)
  const cases: ReadonlyArray<readonly [string, Simulation.Latency, string]> = [
    ["capacity 0", server({ capacity: 0 }), "Expected `options.latency.capacity` to be an integer ≥ 1, got `0` (number)"],
    [
      "a server's latency that is a server",
      server({ latency: server({}) }),
      "Expected `options.latency.latency` to be a Simulation.Latency"
    ],
    [
      "capacityChanges[0].atMillis negative",
      server({ capacityChanges: [{ atMillis: -1, capacity: 3 }] }),
      "Expected `options.latency.capacityChanges[0].atMillis` to be a finite number ≥ 0, got `-1` (number)"
    ],
    [
      "capacityChanges[1].capacity missing",
      server({ capacityChanges: [{ atMillis: 1, capacity: 3 }, { atMillis: 2 }] }),
      `Expected \`options.latency.capacityChanges[1].capacity\` to be an integer ≥ 1, got ${MISSING.shown}`
    ]
  ]
  for (const [name, latency, message] of cases) {
    it(`Simulation.run: ${name}`, async () => {
      const result = await outcome(() => Simulation.run({ actions: 1, concurrency: 1, latency }))
      expect(result._tag).toBe("IllegalArgument")
      expect(result._tag === "IllegalArgument" && result.message.startsWith(message)).toBe(true)
    })
  }

  it("Simulation.compare: concurrencies[1] 0", async () => {
    expect(await outcome(() => Simulation.compare({ actions: 1, concurrency: 1, concurrencies: [2, 0] }))).toEqual({
      _tag: "IllegalArgument",
      channel: "defect",
      message: "Expected `options.concurrencies[1]` to be an integer ≥ 1 or \"auto\", got `0` (number)"
    })
  })

  it("Simulation.run: concurrency \"auto\" is accepted, a string is not", async () => {
    expect(await outcome(() => Simulation.run({ actions: 10, concurrency: "auto" }))).toEqual({ _tag: "Accepted" })
    expect(await outcome(() => Simulation.run({ actions: 10, concurrency: "7" as never }))).toEqual(
      refusal("defect", "options.concurrency", "an integer ≥ 1 or \"auto\"", STRING)
    )
  })
})

