/**
 * The demo's command line: flags → a `Config`, or a `UsageError` naming the
 * flag at fault in one line (main prints it and exits 2).
 */
import { Ordered, Simulation } from "../../src/index.ts"

export const USAGE = `Usage: npm start -- [flags]     (also: deno task start, bun examples/demo/main.ts)

Runs the reference experiment (or your variant) through effect-ordered in
simulated time, compares it with sequential processing and Effect's
Stream.mapEffect, runs it for real, and draws two SVG charts.

Flags:
  --actions N          actions to run (default 1000)
  --concurrency N|auto actions running at once, or a limit that follows the
                       downstream's latency (default 100)
  --max-concurrency N  with --concurrency auto: the most at once (default 1000)
  --min-concurrency N  with --concurrency auto: the least (default 1)
  --window N|inf|auto  reorder window: ≥ concurrency, unbounded, or sized by
                       itself (default auto)
  --hedge pQ|MS        hedge the head of the order: a second copy once it has
                       run longer than the Q-th percentile of the durations
                       seen so far (p95), or than MS milliseconds (default off)
  --order O            total | key | none (default total)
  --keys N             give each action one of N keys (needed by --order key)
  --latency SPEC       uniform:MIN:MAX (whole ms in [MIN, MAX)) or
                       lognormal:MEDIAN:SIGMA (default uniform:0:100)
  --capacity C[:C@MS…] the downstream serves at most C actions at once, each
                       for a draw of --latency, the others queueing in order;
                       :C@MS changes it at MS ms (e.g. 80:20@2000; default none)
  --seed N             random seed (default 1)
  --rows N             actions drawn in timeline.svg (default 200)
  --no-real            skip the real-time run
  --out DIR            where the SVG files go (default out)
  --help               show this help`

export interface Config {
  readonly actions: number
  readonly concurrency: number | "auto"
  /** With `concurrency: "auto"` (else `undefined`): its bounds, `undefined` for the library's default. */
  readonly maxConcurrency: number | undefined
  readonly minConcurrency: number | undefined
  /** `undefined`: the library's default. */
  readonly window: number | "auto" | undefined
  readonly hedge: NonNullable<Ordered.Options<number>["hedge"]> | undefined
  /** How the hedge flag reads, e.g. `p95`. */
  readonly hedgeLabel: string | undefined
  readonly order: "total" | "key" | "none"
  readonly keys: number | undefined
  /** The service time, wrapped in `Simulation.Latency.server` when `capacity` is set. */
  readonly latency: Simulation.Latency
  /** The service time alone, and how it reads. */
  readonly serviceLatency: Exclude<Simulation.Latency, Simulation.Server>
  readonly latencyLabel: string
  readonly capacity: Capacity | undefined
  readonly seed: number
  readonly rows: number
  readonly real: boolean
  readonly out: string
}

/** A downstream's capacity: `initial`, then each change at its time. */
export interface Capacity {
  readonly initial: number
  readonly changes: ReadonlyArray<{ readonly atMillis: number; readonly capacity: number }>
  /** How the flag reads, e.g. `80, 20 from 2000 ms`. */
  readonly label: string
}

export class UsageError extends Error {}

const VALUED = [
  "actions",
  "concurrency",
  "max-concurrency",
  "min-concurrency",
  "capacity",
  "window", "hedge", "order", "keys", "latency",
  "seed",
  "rows",
  "out"
] as const
const SWITCHES = ["no-real", "help"] as const

/** Edits (insert, delete, substitute) that turn `a` into `b`. */
const distance = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]
}

/** `Unknown flag: --windw (did you mean --window?)`, when a flag is close enough to guess. */
const unknownFlag = (arg: string): UsageError => {
  const name = arg.replace(/^-+/, "").split("=")[0]
  const [nearest] = [...VALUED, ...SWITCHES]
    .map((flag) => [flag, distance(name, flag)] as const)
    .sort((a, b) => a[1] - b[1])
  const guess = nearest[1] <= Math.max(2, Math.floor(name.length / 3)) ? ` (did you mean --${nearest[0]}?)` : ""
  return new UsageError(`Unknown flag: ${arg}${guess}; --help lists the flags`)
}

const parseHedge = (text: string): { hedge: NonNullable<Config["hedge"]>; label: string } => {
  const percentile = /^p(\d{1,2}(?:\.\d+)?)$/.exec(text)
  if (percentile !== null && Number(percentile[1]) > 0) {
    return { hedge: { quantile: Number(percentile[1]) / 100 }, label: text }
  }
  if (/^\d+(?:\.\d+)?$/.test(text) && Number(text) > 0) return { hedge: { after: Number(text) }, label: `${text} ms` }
  throw new UsageError(`Invalid value for --hedge: expected pQ (a percentile, e.g. p95) or milliseconds > 0, got "${text}"`)
}
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

const parseLatency = (text: string): { latency: Exclude<Simulation.Latency, Simulation.Server>; label: string } => {
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

/** `C` or `C:C@MS:C@MS…`: a capacity, then changes at times (ms from the start). */
const parseCapacity = (text: string): Capacity => {
  const bad = () =>
    new UsageError(
      `Invalid value for --capacity: expected C or C:C@MS… (capacities integers ≥ 1, times ms ≥ 0), got "${text}"`
    )
  const capacity = (part: string): number => {
    if (!/^\d+$/.test(part) || !Number.isSafeInteger(Number(part)) || Number(part) < 1) throw bad()
    return Number(part)
  }
  const [first, ...rest] = text.split(":")
  const changes = rest.map((part) => {
    const match = /^(\d+)@([^@]+)$/.exec(part)
    const atMillis = Number(match?.[2])
    if (match === null || match[2].trim() === "" || !Number.isFinite(atMillis) || atMillis < 0) throw bad()
    return { atMillis, capacity: capacity(match[1]) }
  })
  const initial = capacity(first)
  const label = [`${initial}`, ...changes.map((c) => `${c.capacity} from ${c.atMillis} ms`)].join(", ")
  return { initial, changes, label }
}

/** `--max-concurrency` / `--min-concurrency`: an integer from 1 to `max`, refused without `--concurrency auto`. */
const autoBound = (
  flag: "max-concurrency" | "min-concurrency",
  text: string | undefined,
  concurrency: number | "auto",
  max: number
): number | undefined => {
  if (text === undefined) return undefined
  if (concurrency !== "auto") throw new UsageError(`Invalid value for --${flag}: needs --concurrency auto`)
  const value = integer(flag, text, 1, max === Infinity ? undefined : `an integer from 1 to max-concurrency (${max})`)
  if (value > max) throw new UsageError(`Invalid value for --${flag}: expected an integer from 1 to max-concurrency (${max}), got "${text}"`)
  return value
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
      throw arg.startsWith("-") ? unknownFlag(arg) : new UsageError(`Unexpected argument: ${arg}; --help lists the flags`)
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
  const concurrencyText = get("concurrency") ?? "100"
  const concurrency = concurrencyText === "auto" ? "auto" : integer("concurrency", concurrencyText, 1)
  const maxConcurrency = autoBound("max-concurrency", get("max-concurrency"), concurrency, Infinity)
  // The window and the charts measure against the most that may run at once.
  const bound = concurrency === "auto" ? maxConcurrency ?? Ordered.defaults.maxConcurrency : concurrency
  const minConcurrency = autoBound("min-concurrency", get("min-concurrency"), concurrency, bound)
  const windowText = get("window")
  const window = windowText === undefined
    ? undefined
    : windowText === "inf" || windowText === "Infinity"
    ? Infinity
    : windowText === "auto"
    ? "auto"
    : integer(
      "window",
      windowText,
      bound,
      `an integer ≥ ${concurrency === "auto" ? "max-concurrency" : "concurrency"} (${bound}), inf or auto`
    )
  const hedgeText = get("hedge")
  const hedge = hedgeText === undefined ? undefined : parseHedge(hedgeText)
  const order = get("order") ?? "total"
  if (order !== "total" && order !== "key" && order !== "none") {
    throw new UsageError(`Invalid value for --order: expected total, key or none, got "${order}"`)
  }
  const keysText = get("keys")
  const keys = keysText === undefined ? undefined : integer("keys", keysText, 1)
  if (order === "key" && keys === undefined) throw new UsageError("Invalid value for --order: key needs --keys N")
  const { label, latency } = parseLatency(get("latency") ?? "uniform:0:100")
  const capacityText = get("capacity")
  const capacity = capacityText === undefined ? undefined : parseCapacity(capacityText)
  return {
    actions,
    concurrency,
    maxConcurrency,
    minConcurrency,
    capacity,
    window,
    order,
    keys,
    hedge: hedge?.hedge,
    hedgeLabel: hedge?.label,
    latency: capacity === undefined
      ? latency
      : Simulation.Latency.server({ capacity: capacity.initial, latency, capacityChanges: capacity.changes }),
    serviceLatency: latency,
    latencyLabel: label,
    seed: integer("seed", get("seed") ?? "1", Number.MIN_SAFE_INTEGER, "an integer"),
    rows: integer("rows", get("rows") ?? "200", 1),
    real,
    out: get("out") ?? "out"
  }
}
