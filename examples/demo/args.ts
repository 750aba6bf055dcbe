/**
 * The demo's command line: flags → a `Config`, or a `UsageError` naming the
 * flag at fault (main prints it with the usage and exits 2).
 */
import { Simulation } from "../../src/index.ts"

export const USAGE = `Usage: npm start -- [flags]     (also: deno task start, bun examples/demo/main.ts)

Runs the reference experiment (or your variant) through effect-ordered in
simulated time, compares it with sequential processing and Effect's
Stream.mapEffect, runs it for real, and draws two SVG charts.

Flags:
  --actions N          actions to run (default 1000)
  --concurrency N      actions running at once (default 100)
  --window N|inf       reorder window, ≥ concurrency (default 3 × concurrency)
  --order O            total | key | none (default total)
  --keys N             give each action one of N keys (needed by --order key)
  --latency SPEC       uniform:MIN:MAX (whole ms in [MIN, MAX)) or
                       lognormal:MEDIAN:SIGMA (default uniform:0:100)
  --seed N             random seed (default 1)
  --rows N             actions drawn in timeline.svg (default 200)
  --no-real            skip the real-time run
  --out DIR            where the SVG files go (default out)
  --help               show this help`

export interface Config {
  readonly actions: number
  readonly concurrency: number
  /** `undefined`: the library's default. */
  readonly window: number | undefined
  readonly order: "total" | "key" | "none"
  readonly keys: number | undefined
  readonly latency: Simulation.Latency
  readonly latencyLabel: string
  readonly seed: number
  readonly rows: number
  readonly real: boolean
  readonly out: string
}

export class UsageError extends Error {}

const VALUED = ["actions", "concurrency", "window", "order", "keys", "latency", "seed", "rows", "out"] as const
type Valued = typeof VALUED[number]

const integer = (flag: string, text: string, min: number, expected = `an integer ≥ ${min}`): number => {
  const value = Number(text)
  if (text.trim() === "" || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`Invalid value for --${flag}: expected ${expected}, got "${text}"`)
  }
  return value
}

const positive = (flag: string, text: string, allowZero: boolean): number => {
  const value = Number(text)
  if (text.trim() === "" || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new UsageError(`Invalid value for --${flag}: expected a number ${allowZero ? "≥" : ">"} 0, got "${text}"`)
  }
  return value
}

const parseLatency = (text: string): { latency: Simulation.Latency; label: string } => {
  const [kind, a, b, ...rest] = text.split(":")
  const bad = () =>
    new UsageError(`Invalid value for --latency: expected uniform:MIN:MAX or lognormal:MEDIAN:SIGMA, got "${text}"`)
  if (a === undefined || b === undefined || rest.length > 0) throw bad()
  if (kind === "uniform") {
    const min = integer("latency", a, 0)
    const max = integer("latency", b, min + 1)
    return { latency: Simulation.Latency.uniform(min, max), label: `uniform ${min}–${max - 1} ms` }
  }
  if (kind === "lognormal") {
    const median = positive("latency", a, false)
    const sigma = positive("latency", b, true)
    return { latency: Simulation.Latency.logNormal(median, sigma), label: `log-normal, median ${median} ms, σ ${sigma}` }
  }
  throw bad()
}

/** Parses `argv` (without the runtime and script); `undefined` means `--help`. */
export const parseArgs = (argv: ReadonlyArray<string>): Config | undefined => {
  const values = new Map<Valued, string>()
  let real = true
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === "--help" || arg === "-h") return undefined
    if (arg === "--no-real") {
      real = false
      continue
    }
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg)
    const name = match?.[1] as Valued | undefined
    if (match === null || !VALUED.includes(name!)) {
      throw new UsageError(arg.startsWith("-") ? `Unknown flag: ${arg}` : `Unexpected argument: ${arg}`)
    }
    let value = match[2]
    if (value === undefined) {
      value = argv[++i]
      if (value === undefined) throw new UsageError(`Missing value for --${name}`)
    }
    values.set(name!, value)
  }
  const get = (name: Valued): string | undefined => values.get(name)
  const actions = integer("actions", get("actions") ?? "1000", 1)
  const concurrency = integer("concurrency", get("concurrency") ?? "100", 1)
  const windowText = get("window")
  const window = windowText === undefined
    ? undefined
    : windowText === "inf" || windowText === "Infinity"
    ? Infinity
    : integer("window", windowText, concurrency, `an integer ≥ concurrency (${concurrency}) or inf`)
  const order = get("order") ?? "total"
  if (order !== "total" && order !== "key" && order !== "none") {
    throw new UsageError(`Invalid value for --order: expected total, key or none, got "${order}"`)
  }
  const keysText = get("keys")
  const keys = keysText === undefined ? undefined : integer("keys", keysText, 1)
  if (order === "key" && keys === undefined) throw new UsageError("Invalid value for --order: key needs --keys N")
  const { label, latency } = parseLatency(get("latency") ?? "uniform:0:100")
  return {
    actions,
    concurrency,
    window,
    order,
    keys,
    latency,
    latencyLabel: label,
    seed: integer("seed", get("seed") ?? "1", Number.MIN_SAFE_INTEGER, "an integer"),
    rows: integer("rows", get("rows") ?? "200", 1),
    real,
    out: get("out") ?? "out"
  }
}
