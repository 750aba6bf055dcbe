/**
 * `npm start`: the reference experiment — 1000 actions of 0–99 ms at
 * concurrency 100 — in simulated time (sequential vs Stream.mapEffect vs
 * effect-ordered), then for real, then as two SVG charts. `--help` for
 * flags; examples/demo/README.md explains the output.
 */
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import type * as MetricState from "effect/MetricState"
import * as Stream from "effect/Stream"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import process from "node:process"
import { Ordered, Simulation } from "../../src/index.ts"
import { type Config, parseArgs, USAGE, UsageError } from "./args.ts"
import { rowLabel, windowLabel } from "./labels.ts"
import { replay } from "./replay.ts"
import { timelineSvg, windowSvg } from "./svg.ts"

/** The window chart's fixed windows, as multiples of concurrency; an `auto` bar follows them. */
const WINDOW_FACTORS = [1, 2, Ordered.defaults.windowFactor, 8, 32, Infinity]
/** The window chart simulates at most this many actions per bar, to stay quick. */
const WINDOW_CHART_ACTIONS = 10_000

const ms = (x: number): string => `${Math.round(x).toLocaleString("en-US")} ms`
const times = (x: number, digits = 1): string => `${x.toFixed(digits)}×`

const runtime = (): string => {
  const deno = (globalThis as { Deno?: { version: { deno: string } } }).Deno
  if (deno !== undefined) return `deno ${deno.version.deno}`
  const bun = (process.versions as Record<string, string | undefined>).bun
  return bun !== undefined ? `bun ${bun}` : `node ${process.versions.node}`
}

const simulationOptions = (config: Config): Simulation.Options => ({
  actions: config.actions,
  concurrency: config.concurrency,
  maxConcurrency: config.maxConcurrency,
  minConcurrency: config.minConcurrency,
  window: config.window,
  order: config.order,
  keys: config.keys,
  latency: config.latency,
  seed: config.seed,
  hedge: config.hedge
})

/** `100`, or `auto, max 400`. */
const concurrencyOf = (config: Config): string =>
  config.concurrency !== "auto"
    ? `${config.concurrency}`
    : ["auto", ...(config.maxConcurrency === undefined ? [] : [`max ${config.maxConcurrency}`]), ...(
      config.minConcurrency === undefined ? [] : [`min ${config.minConcurrency}`]
    )].join(", ")

/** The latency model, and the downstream's capacity if it has one. */
const downstreamOf = (config: Config): string =>
  `${config.latencyLabel}${config.capacity === undefined ? "" : `, capacity ${config.capacity.label}`}`

const windowOf = (config: Config): string =>
  config.window === undefined ? "auto (default)" : windowLabel(config.window, config.concurrency)

const elapsed = <A>(f: () => A): [A, number] => {
  const start = performance.now()
  const result = f()
  return [result, performance.now() - start]
}

/** Columns padded to their widest cell; numbers (all but the first column) right-aligned unless `left`. */
const table = (rows: ReadonlyArray<ReadonlyArray<string>>, left = false): string => {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)))
  return rows.map((r) =>
    r.map((cell, c) => c === 0 || left ? cell.padEnd(widths[c]) : cell.padStart(widths[c])).join("   ").trimEnd()
  ).join("\n")
}

/** Whether the run has a limit or a downstream to show: the tables then show the actions' observed latency. */
const watchesLatency = (config: Config): boolean => config.concurrency === "auto" || config.capacity !== undefined

/** `mean 38.2, max 61, final 40`. */
const limitLabel = (limit: { readonly mean: number; readonly max: number; readonly final: number }): string =>
  `mean ${limit.mean.toFixed(1)}, max ${limit.max}, final ${limit.final}`

/** Prints the comparison and the effect-ordered run's details; returns that run's report. */
const printSimulation = (config: Config): Simulation.Report => {
  // Without hedging, then (with --hedge) the same window hedged: one row each.
  const options = { ...simulationOptions(config), hedge: undefined }
  // Under "auto" with a known capacity, also the fixed concurrency that matches it: the one to beat.
  const concurrencies = config.concurrency === "auto" && config.capacity !== undefined ? [config.capacity.initial] : []
  const [rows, realMillis] = elapsed(() =>
    Effect.runSync(
      Simulation.compare({ ...options, hedges: config.hedge === undefined ? [] : [config.hedge], concurrencies })
    )
  )
  const latency = watchesLatency(config)
  console.log(`\nSimulated time (virtual clock; ${rows.length - 1} runs took ${ms(realMillis)} of real time)\n`)
  const hedged = config.hedge !== undefined
  console.log(table([
    [
      "how the actions run",
      "makespan",
      "speedup",
      "vs unbounded",
      ...(latency ? ["latency p99"] : []),
      ...(hedged ? ["extra actions"] : [])
    ],
    ...rows.map((row) => [
      rowLabel(row, options),
      ms(row.makespanMillis),
      times(row.speedup),
      times(row.vsUnbounded, 2),
      ...(latency ? [row.strategy === "sequential" ? "" : ms(row.latencyP99Millis)] : []),
      ...(!hedged ? [] : [row.hedge === undefined ? "" : `${row.hedged} (${((row.hedged / config.actions) * 100).toFixed(1)}%)`])
    ])
  ]))
  console.log(
    [
      "",
      "makespan: simulated time from the first start to the last result emitted, in input order.",
      "speedup: one-at-a-time time / makespan.",
      "vs unbounded: makespan / the makespan with an unbounded window (no hedging): 1.00× is as fast as",
      "  in-order emission gets with unlimited memory; one at a time is far above it.",
      ...(latency ? ["latency p99: the actions' observed latency, start to finish, queueing downstream included."] : []),
      ...(hedged ? ["extra actions: hedged copies started (each a second run of an action)."] : [])
    ].join("\n")
  )
  const report = Effect.runSync(Simulation.run(simulationOptions(config)))
  console.log(
    `\neffect-ordered${config.hedge === undefined ? "" : `, hedge ${config.hedgeLabel}`}: at most ${report.peakInFlight} ` +
      `running and ${report.peakBuffered} finished waiting for an earlier action; finish → emit p50 ` +
      `${ms(report.emissionDelay.p50)}, p99 ${ms(report.emissionDelay.p99)}, max ${ms(report.emissionDelay.max)}` +
      (config.hedge === undefined ? "" : `; ${report.hedged} hedged copies, ${report.hedgeWins} finished first`)
  )
  if (report.concurrencyLimit !== undefined) {
    console.log(
      `concurrency limit: ${limitLabel(report.concurrencyLimit)} (${report.concurrencyLimit.changes.length} changes); ` +
        `observed latency p50 ${ms(report.latency.p50)}, p99 ${ms(report.latency.p99)}`
    )
  }
  return report
}

/** Whether `emitted` holds every action once, in the requested order. */
const orderCheck = (emitted: ReadonlyArray<number>, config: Config, keys: ReadonlyArray<number> | undefined) => {
  const seen = new Set(emitted)
  if (seen.size !== config.actions || emitted.length !== config.actions) return false
  const last = new Map<number, number>()
  for (const i of emitted) {
    const group = config.order === "key" ? keys![i] : 0
    if (config.order !== "none" && i < (last.get(group) ?? -1)) return false
    last.set(group, i)
  }
  return true
}

const progressBar = (total: number): { update: (done: number) => void; end: () => void } => {
  if (!process.stderr.isTTY) return { update: () => {}, end: () => {} }
  const start = performance.now()
  let drawn = -Infinity
  const draw = (done: number) => {
    const filled = Math.round((done / total) * 30)
    process.stderr.write(
      `\r  [${"#".repeat(filled)}${".".repeat(30 - filled)}] ${done}/${total}  ${
        ((performance.now() - start) / 1000).toFixed(1)
      } s`
    )
  }
  return {
    update: (done) => {
      if (done === total || performance.now() - drawn > 50) {
        drawn = performance.now()
        draw(done)
      }
    },
    end: () => process.stderr.write("\r\x1b[K")
  }
}

/** The real run's name, which tags its metrics: the limit is read from its gauge. */
const PIPELINE = "demo"
/** How often the real run reads the limit. */
const LIMIT_SAMPLE_MILLIS = 5

/** The named pipeline's `effect_ordered_concurrency_limit` now (0 while it has none). */
const currentLimit: Effect.Effect<number> = Effect.map(Metric.snapshot, (pairs) => {
  const pair = pairs.find((p) =>
    p.metricKey.name === "effect_ordered_concurrency_limit" &&
    p.metricKey.tags.some((tag) => tag.key === "pipeline" && tag.value === PIPELINE)
  )
  return pair === undefined ? 0 : Number((pair.metricState as MetricState.MetricState.Gauge<number>).value)
})

/** Runs `program`, reading the limit every few ms meanwhile: its mean over the samples, max and last value. */
const sampleLimit = <A, E>(program: Effect.Effect<A, E>) => {
  const samples: Array<number> = []
  const sampler = Effect.forever(Effect.zipRight(
    Effect.map(currentLimit, (limit) => {
      if (limit > 0) samples.push(limit)
    }),
    Effect.sleep(LIMIT_SAMPLE_MILLIS)
  ))
  return Effect.map(Effect.scoped(Effect.zipRight(Effect.forkScoped(sampler), program)), () =>
    samples.length === 0 ? undefined : {
      mean: samples.reduce((a, b) => a + b, 0) / samples.length,
      max: Math.max(...samples),
      final: samples[samples.length - 1]
    })
}

/** Nearest-rank percentile, as the simulation's report reads it. */
const percentile = (values: ReadonlyArray<number>, p: number): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted.length === 0 ? 0 : sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]
}

/**
 * The same workload for real, on the default runtime's clock (a hedged copy
 * sleeping its own draw, as in simulation; with a capacity, a downstream
 * serving that many at once), printed beside the simulated run.
 */
const runReal = async (config: Config, simulated: Simulation.Report): Promise<void> => {
  const work = Simulation.workload(simulationOptions(config))
  const keys = work.keys
  const replayed = replay(
    work,
    config.capacity === undefined ? undefined : { capacity: config.capacity.initial, changes: config.capacity.changes }
  )
  console.log(`\nReal time (Effect.sleep on the default clock, ${runtime()}), beside the simulated run\n`)
  const emitted: Array<number> = []
  const progress = progressBar(config.actions)
  const pipeline = Stream.range(0, config.actions - 1).pipe(
    Ordered.mapEffect(replayed.action, {
      concurrency: config.concurrency,
      maxConcurrency: config.maxConcurrency,
      minConcurrency: config.minConcurrency,
      window: config.window,
      order: config.order,
      key: keys === undefined ? undefined : (i: number) => keys[i],
      hedge: config.hedge,
      name: config.concurrency === "auto" ? PIPELINE : undefined
    }),
    Stream.runForEachChunk((chunk) =>
      Effect.sync(() => {
        for (const i of chunk) emitted.push(i)
        progress.update(emitted.length)
      })
    )
  )
  const start = performance.now()
  const limit = await Effect.runPromise(sampleLimit(replayed.run(pipeline)))
  const wallMillis = performance.now() - start
  progress.end()
  const held = orderCheck(emitted, config, keys)
  const orderLabel = config.order === "total"
    ? "input order"
    : config.order === "key"
    ? "input order within each key"
    : "each exactly once"
  const latencies = replayed.latencies()
  console.log(table([
    ["", "real", "simulated"],
    ["makespan", ms(wallMillis), ms(simulated.makespanMillis)],
    ["speedup", times(simulated.sequentialMillis / wallMillis), times(simulated.sequentialMillis / simulated.makespanMillis)],
    ...(simulated.concurrencyLimit === undefined ? [] : [
      ["concurrency limit", limit === undefined ? "none read" : limitLabel(limit), limitLabel(simulated.concurrencyLimit)]
    ]),
    ...(!watchesLatency(config) ? [] : [
      ["latency p50", ms(percentile(latencies, 0.5)), ms(simulated.latency.p50)],
      ["latency p99", ms(percentile(latencies, 0.99)), ms(simulated.latency.p99)]
    ]),
    ...(config.hedge === undefined ? [] : [
      ["hedged copies", `${replayed.hedged()}`, `${simulated.hedged}`],
      ["copies that finished first", `${replayed.hedgeWins()}`, `${simulated.hedgeWins}`]
    ]),
    ["results emitted", `${emitted.length} of ${config.actions}`, `${simulated.emitted} of ${simulated.actions}`],
    [`order (${orderLabel})`, held ? "held" : "BROKEN", simulated.orderHeld ? "held" : "BROKEN"]
  ]))
  console.log(
    [
      "",
      `makespan: for real, the wall time of the run. speedup: one at a time (${ms(simulated.sequentialMillis)}) / makespan.`,
      ...(simulated.concurrencyLimit === undefined ? [] : [
        `concurrency limit: for real, read from the effect_ordered_concurrency_limit gauge every ${LIMIT_SAMPLE_MILLIS} ms;`,
        "  simulated, weighted by time."
      ]),
      ...(!watchesLatency(config) ? [] : ["latency: each action's start to its finish, queueing downstream included."])
    ].join("\n")
  )
  if (!held) process.exitCode = 1
}

const writeTimeline = (config: Config, report: Simulation.Report): string => {
  const shown = report.timeline.slice(0, config.rows)
  const file = join(config.out, "timeline.svg")
  writeFileSync(
    file,
    timelineSvg({
      title: `effect-ordered timeline: first ${shown.length} of ${config.actions} actions`,
      subtitle: `concurrency ${concurrencyOf(config)}, window ${windowOf(config)}${
        config.hedge === undefined ? "" : `, hedge ${config.hedgeLabel}`
      }, order ${config.order}, latency ${downstreamOf(config)}, seed ${config.seed}; simulated: makespan ${
        ms(report.makespanMillis)
      }`,
      timeline: shown,
      makespanMillis: report.makespanMillis,
      limitChanges: report.concurrencyLimit?.changes
    })
  )
  return file
}

/** The user's latency model, then the reference ones it is not. */
const chartModels = (config: Config): ReadonlyArray<readonly [string, Simulation.Latency]> => {
  const references: ReadonlyArray<readonly [string, Simulation.Latency]> = [
    ["uniform 0–99 ms", Simulation.Latency.uniform(0, 100)],
    ["heavy-tailed: log-normal, median 20 ms, σ 1.2", Simulation.Latency.logNormal(20, 1.2)]
  ]
  const same = (a: Simulation.Latency, b: Simulation.Latency) => JSON.stringify(a) === JSON.stringify(b)
  return references.some(([, latency]) => same(latency, config.latency))
    ? references
    : [[`yours: ${downstreamOf(config)}`, config.latency], ...references]
}

/** What the window chart's windows are multiples of. */
const windowUnit = (config: Config): string => config.concurrency === "auto" ? "max-concurrency" : "concurrency"

const writeWindowChart = (config: Config): string => {
  const actions = Math.min(config.actions, WINDOW_CHART_ACTIONS)
  // Under "auto", windows measure against maxConcurrency, as the library's do.
  const base = config.concurrency === "auto" ? config.maxConcurrency ?? Ordered.defaults.maxConcurrency : config.concurrency
  const windows = [...WINDOW_FACTORS.map((factor) => factor * base), "auto" as const]
  const panels = chartModels(config).map(([label, latency]) => {
    const rows = Effect.runSync(Simulation.compare({
      ...simulationOptions(config),
      hedge: undefined,
      actions,
      latency,
      windows
    }))
    return {
      label,
      ordered: rows.filter((row) => row.strategy === "effect-ordered").map((row) => row.makespanMillis),
      stream: rows.find((row) => row.strategy === "Stream.mapEffect")!.makespanMillis
    }
  })
  const file = join(config.out, "window.svg")
  writeFileSync(
    file,
    windowSvg({
      title: "Makespan against window size",
      subtitle: `${actions} actions, concurrency ${concurrencyOf(config)}, order ${config.order}, seed ${config.seed}; ` +
        `simulated; lower is better`,
      windows: windows.map((window) =>
        window === "auto" ? "auto" : window === Infinity ? "∞" : `${window / base}×`
      ),
      unit: windowUnit(config),
      defaultIndex: windows.indexOf("auto"),
      panels
    })
  )
  return file
}

const main = async (argv: ReadonlyArray<string>): Promise<void> => {
  let config: Config | undefined
  try {
    config = parseArgs(argv)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    process.stderr.write(`${error.message}\n`)
    process.exit(2)
  }
  if (config === undefined) {
    console.log(USAGE)
    return
  }
  console.log(
    `effect-ordered demo: ${config.actions} actions, latency ${downstreamOf(config)}, concurrency ${concurrencyOf(config)}, ` +
      `window ${windowOf(config)}${config.hedge === undefined ? "" : `, hedge ${config.hedgeLabel}`}, order ${config.order}` +
      `${config.keys === undefined ? "" : `, ${config.keys} keys`}, seed ${config.seed}`
  )
  const report = printSimulation(config)
  if (config.real) await runReal(config, report)
  mkdirSync(config.out, { recursive: true })
  const [timeline, window] = [writeTimeline(config, report), writeWindowChart(config)]
  console.log(
    [
      "",
      `Wrote ${timeline}: one row per action in input order (the first ${Math.min(config.rows, config.actions)}),`,
      "  blue while it runs, orange while it waits, finished, for an earlier action to be emitted" +
        (config.hedge === undefined ? "." : ", green from a marker where a hedged copy starts.") +
        (config.concurrency === "auto" ? "\n  The purple step line is the concurrency limit, on its own axis at the right." : ""),
      `Wrote ${window}: makespan of this workload against the window (× ${windowUnit(config)} and auto), for`,
      "  your latency model and the reference ones; the dashed line is Stream.mapEffect."
    ].join("\n")
  )
}

await main(process.argv.slice(2))
