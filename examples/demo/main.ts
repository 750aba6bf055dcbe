/**
 * `npm start`: the reference experiment — 1000 actions of 0–99 ms at
 * concurrency 100 — in simulated time (sequential vs Stream.mapEffect vs
 * effect-ordered), then for real, then as two SVG charts. `--help` for flags.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import process from "node:process"
import { Ordered, Simulation } from "../../src/index.ts"
import { type Config, parseArgs, USAGE, UsageError } from "./args.ts"
import { timelineSvg, windowSvg } from "./svg.ts"

const WINDOW_FACTORS = [1, 2, 3, 4, 8, Infinity]
const DEFAULT_FACTOR = 3
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
  window: config.window,
  order: config.order,
  keys: config.keys,
  latency: config.latency,
  seed: config.seed
})

const windowOf = (config: Config): number => config.window ?? config.concurrency * DEFAULT_FACTOR

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

/** Prints the comparison and the effect-ordered run's details; returns that run's report. */
const printSimulation = (config: Config): Simulation.Report => {
  const [rows, realMillis] = elapsed(() => Effect.runSync(Simulation.compare(simulationOptions(config))))
  console.log(`\nSimulated time (virtual clock; ${rows.length - 1} runs took ${ms(realMillis)} of real time)\n`)
  console.log(table([
    ["strategy", "makespan", "speedup", "vs unbounded"],
    ...rows.map((row) => [row.name, ms(row.makespanMillis), times(row.speedup), times(row.vsUnbounded, 2)])
  ]))
  const report = Effect.runSync(Simulation.run(simulationOptions(config)))
  console.log(
    `\neffect-ordered: at most ${report.peakInFlight} running and ${report.peakBuffered} finished waiting for an ` +
      `earlier action; finish → emit p50 ${ms(report.emissionDelay.p50)}, p99 ${ms(report.emissionDelay.p99)}, ` +
      `max ${ms(report.emissionDelay.max)}`
  )
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

/** The same workload for real: real `Effect.sleep` on the default runtime's clock. */
const runReal = async (config: Config, simulatedMillis: number): Promise<void> => {
  const work = Simulation.workload(simulationOptions(config))
  const keys = work.keys
  const sequentialMillis = work.latencyMillis.reduce((a, b) => a + b, 0)
  console.log(`\nReal time (Effect.sleep on the default clock, ${runtime()})\n`)
  const emitted: Array<number> = []
  const progress = progressBar(config.actions)
  const pipeline = Stream.range(0, config.actions - 1).pipe(
    Ordered.mapEffect((i) => Effect.as(Effect.sleep(work.latencyMillis[i]), i), {
      concurrency: config.concurrency,
      window: config.window,
      order: config.order,
      key: keys === undefined ? undefined : (i: number) => keys[i]
    }),
    Stream.runForEachChunk((chunk) =>
      Effect.sync(() => {
        for (const i of chunk) emitted.push(i)
        progress.update(emitted.length)
      })
    )
  )
  const start = performance.now()
  await Effect.runPromise(pipeline)
  const wallMillis = performance.now() - start
  progress.end()
  const held = orderCheck(emitted, config, keys)
  const orderLabel = config.order === "total"
    ? "input order"
    : config.order === "key"
    ? "input order within each key"
    : "each exactly once"
  console.log(
    table([
      ["wall time", `${ms(wallMillis)} (simulated: ${ms(simulatedMillis)})`],
      ["speedup", `${times(sequentialMillis / wallMillis)} over the sequential estimate (${ms(sequentialMillis)})`],
      ["order", `${held ? "held" : "BROKEN"}: ${emitted.length} of ${config.actions} results, ${orderLabel}`]
    ], true)
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
      subtitle: `concurrency ${config.concurrency}, window ${windowOf(config)}, order ${config.order}, latency ${
        config.latencyLabel
      }, seed ${config.seed}; simulated: makespan ${ms(report.makespanMillis)}`,
      timeline: shown,
      makespanMillis: report.makespanMillis
    })
  )
  return file
}

const writeWindowChart = (config: Config): string => {
  const actions = Math.min(config.actions, WINDOW_CHART_ACTIONS)
  const models: ReadonlyArray<readonly [string, Simulation.Latency]> = [
    ["uniform 0–99 ms", Simulation.Latency.uniform(0, 100)],
    ["heavy-tailed: log-normal, median 20 ms, σ 1.2", Simulation.Latency.logNormal(20, 1.2)]
  ]
  const panels = models.map(([label, latency]) => {
    const base = { ...simulationOptions(config), actions, latency }
    const rows = Effect.runSync(Simulation.compare({
      ...base,
      windows: WINDOW_FACTORS.map((factor) => factor * config.concurrency)
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
      subtitle: `${actions} actions, concurrency ${config.concurrency}, order ${config.order}, seed ${config.seed}; ` +
        `simulated; lower is better`,
      windows: WINDOW_FACTORS.map((f) =>
        f === Infinity ? "unbounded" : `${f}× (${f * config.concurrency})`
      ),
      defaultIndex: WINDOW_FACTORS.indexOf(DEFAULT_FACTOR),
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
    process.stderr.write(`${error.message}\n\n${USAGE}\n`)
    process.exit(2)
  }
  if (config === undefined) {
    console.log(USAGE)
    return
  }
  console.log(
    `effect-ordered demo: ${config.actions} actions, latency ${config.latencyLabel}, concurrency ${config.concurrency}, ` +
      `window ${windowOf(config)}${config.window === undefined ? " (default)" : ""}, order ${config.order}` +
      `${config.keys === undefined ? "" : `, ${config.keys} keys`}, seed ${config.seed}`
  )
  const report = printSimulation(config)
  if (config.real) await runReal(config, report.makespanMillis)
  mkdirSync(config.out, { recursive: true })
  const files = [writeTimeline(config, report), writeWindowChart(config)]
  console.log(`\nWrote ${files.join(" and ")}`)
}

await main(process.argv.slice(2))
