/**
 * HTTP benchmark of the edge example: requests/s and latency percentiles for
 * `POST /actions` with 100 actions a request, on loopback, against the Node,
 * Deno, Bun and workerd servers, load from `wrk` (Debian package: `apt-get
 * install -y wrk`). Each request places 50 fresh orders and cancels them, so
 * every run leaves the book as it found it. One table per simulated action
 * cost (`LATENCY_MS`): 0 ms measures the overhead alone, 5 ms (the servers'
 * default) a workload that waits.
 *
 * Then a keyed burst per runtime at the servers' default settings
 * (test/edge/burst.ts): keys × 100 client-numbered actions on
 * `POST /keys/:key/actions/:sequence`, shuffled, 6 duplicates a key,
 * sequence 20 never sent on 10 keys, all in flight at once; it reports the
 * actions applied (of those that can be), the 409s (the duplicates), the 504s
 * (the real gaps), the requests shed (503 + `Retry-After`, resent after
 * it) and those resent (408, failed connect), those left
 * with no answer, the load average and the time until the last answer.
 *
 *   node --import tsx bench/http.ts [--duration 10] [--connections 16] [--latency-ms 0,5] [--runtimes node,deno,bun,workerd]
 *     [--burst-keys 40] [--burst-keys-node 100] [--burst-only]
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { defaultBurst, expectedApplied, runBurst } from "../test/edge/burst.ts"
import { listenOverflows } from "../examples/edge/node-server.ts"
import { type Runtime, startServer } from "../test/edge/launch.ts"

export interface HttpBenchOptions {
  readonly runtimes?: ReadonlyArray<Runtime> | undefined
  /** Seconds of load per runtime. Default 10. */
  readonly durationSeconds?: number | undefined
  /** Open connections. Default 16. */
  readonly connections?: number | undefined
  /** Simulated costs of each action (the servers' `LATENCY_MS`), one table each. Default `[0, 5]`. */
  readonly latenciesMs?: ReadonlyArray<number> | undefined
}

export interface HttpBenchRow {
  readonly runtime: Runtime
  readonly latencyMs: number
  readonly requestsPerSecond: number
  readonly actionsPerSecond: number
  readonly p50Millis: number
  readonly p99Millis: number
  readonly errors: number
}

const actionsPerRequest = 100

/** wrk's request generator: a fresh key range per request, 50 places then their 50 cancels. */
const luaScript = `
local counter = 0
local prefix = tostring(math.random(1, 1e9))
request = function()
  counter = counter + 1
  local lines = {}
  for i = 1, ${actionsPerRequest / 2} do
    lines[i] = '{"key":"b' .. prefix .. '-' .. counter .. '-' .. i .. '","type":"place","payload":{"side":"buy","price":10,"quantity":1}}'
    lines[i + ${actionsPerRequest / 2}] = '{"key":"b' .. prefix .. '-' .. counter .. '-' .. i .. '","type":"cancel"}'
  end
  return wrk.format("POST", "/actions", { ["Content-Type"] = "application/x-ndjson" }, table.concat(lines, "\\n"))
end
`

const hasWrk = (): boolean => {
  try {
    execFileSync("wrk", ["--version"], { stdio: "ignore" })
    return true
  } catch (error) {
    // wrk --version exits 1 after printing its version; only a missing binary throws ENOENT
    return (error as NodeJS.ErrnoException).code !== "ENOENT"
  }
}

/** wrk prints latencies as `812.00us`, `3.21ms` or `1.02s`. */
const toMillis = (value: string): number => {
  const match = /^([\d.]+)(us|ms|s)$/.exec(value)
  if (!match) throw new Error(`Unexpected wrk latency ${JSON.stringify(value)}`)
  const n = Number(match[1])
  return match[2] === "us" ? n / 1000 : match[2] === "s" ? n * 1000 : n
}

const parseWrk = (runtime: Runtime, latencyMs: number, output: string): HttpBenchRow => {
  const find = (pattern: RegExp) => {
    const match = pattern.exec(output)
    if (!match) throw new Error(`Could not read ${pattern} from wrk output:\n${output}`)
    return match[1]
  }
  const requestsPerSecond = Number(find(/Requests\/sec:\s+([\d.]+)/))
  return {
    runtime,
    latencyMs,
    requestsPerSecond,
    actionsPerSecond: requestsPerSecond * actionsPerRequest,
    p50Millis: toMillis(find(/^\s+50%\s+(\S+)/m)),
    p99Millis: toMillis(find(/^\s+99%\s+(\S+)/m)),
    errors: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0) +
      [...output.matchAll(/(?:connect|read|write|timeout) (\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0)
  }
}

type Resolved = { readonly [K in keyof HttpBenchOptions]-?: NonNullable<HttpBenchOptions[K]> }

const printRows = (rows: ReadonlyArray<HttpBenchRow>, latencyMs: number, options: Resolved) => {
  const header = ["runtime", "requests/s", "actions/s", "p50", "p99", "errors"]
  const cells = rows.map((r) => [
    r.runtime,
    r.requestsPerSecond.toFixed(0),
    r.actionsPerSecond.toFixed(0),
    `${r.p50Millis.toFixed(1)} ms`,
    `${r.p99Millis.toFixed(1)} ms`,
    String(r.errors)
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)))
  const line = (c: ReadonlyArray<string>) => `| ${c.map((x, i) => x.padEnd(widths[i])).join(" | ")} |`
  console.log(
    `\n### POST /actions, ${actionsPerRequest} actions a request, loopback, wrk -c${options.connections} ` +
      `-d${options.durationSeconds}s, LATENCY_MS=${latencyMs}\n`
  )
  console.log(line(header))
  console.log(`| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`)
  for (const c of cells) console.log(line(c))
}

/** Starts `runtime`'s server with `LATENCY_MS=latencyMs`, warms it up, and measures it with wrk. */
const measure = async (runtime: Runtime, latencyMs: number, script: string, options: Resolved): Promise<HttpBenchRow> => {
  const server = await startServer(runtime, {
    LATENCY_MS: String(latencyMs),
    MAX_ACTIONS: String(actionsPerRequest)
  })
  try {
    // a short warm-up (JIT, first-request layer build), then the measured run
    execFileSync("wrk", ["-t1", "-c2", "-d2s", "-s", script, server.url], { stdio: "ignore" })
    const output = execFileSync("wrk", [
      `-t${Math.min(2, options.connections)}`,
      `-c${options.connections}`,
      `-d${options.durationSeconds}s`,
      // count a slow response in the percentiles, not as a socket timeout (wrk's default is 2 s)
      "--timeout",
      "10s",
      "--latency",
      "-s",
      script,
      server.url
    ], { encoding: "utf8" })
    return parseWrk(runtime, latencyMs, output)
  } finally {
    server.stop()
  }
}

/** Runs the benchmark and prints one Markdown table per latency; `[]` (and a note) when wrk is missing. */
export const runHttpBench = async (options: HttpBenchOptions = {}): Promise<Array<HttpBenchRow>> => {
  const resolved: Resolved = {
    runtimes: options.runtimes ?? ["node", "deno", "bun", "workerd"],
    durationSeconds: options.durationSeconds ?? 10,
    connections: options.connections ?? 16,
    latenciesMs: options.latenciesMs ?? [0, 5]
  }
  if (!hasWrk()) {
    console.log("\nHTTP bench skipped: wrk is not installed (Debian/Ubuntu: `apt-get install -y wrk`).")
    return []
  }
  const dir = mkdtempSync(join(tmpdir(), "edge-bench-"))
  const script = join(dir, "actions.lua")
  writeFileSync(script, luaScript)
  const rows: Array<HttpBenchRow> = []
  try {
    for (const latencyMs of resolved.latenciesMs) {
      const table: Array<HttpBenchRow> = []
      for (const runtime of resolved.runtimes) table.push(await measure(runtime, latencyMs, script, resolved))
      printRows(table, latencyMs, resolved)
      rows.push(...table)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return rows
}

export interface BurstRow {
  readonly runtime: Runtime
  readonly keys: number
  readonly requests: number
  readonly applied: number
  readonly applicable: number
  readonly conflicts: number
  readonly gaps: number
  readonly retried: number
  /** Requests answered 503 + `Retry-After` and sent again after it. */
  readonly shed: number
  /** Connects the kernel dropped meanwhile (full listen queue), machine-wide; Linux only. */
  readonly listenOverflows: number | undefined
  /** Requests with no answer, by error code (resent when never sent). */
  readonly errors: Readonly<Record<string, number>>
  readonly drainMillis: number
}

/** The keyed burst against `runtime`'s server at its default settings. */
const measureBurst = async (runtime: Runtime, keys: number): Promise<BurstRow> => {
  const server = await startServer(runtime)
  try {
    const spec = defaultBurst(keys)
    const overflowsBefore = listenOverflows()
    const result = await runBurst(server.url, spec, `bench-${runtime}-${keys}-${Date.now()}`)
    return {
      runtime,
      keys,
      requests: result.requests,
      applied: result.applied,
      applicable: expectedApplied(spec),
      conflicts: result.statuses[409] ?? 0,
      gaps: result.statuses[504] ?? 0,
      retried: result.retried,
      shed: result.shed,
      listenOverflows: overflowsBefore === undefined ? undefined : listenOverflows()! - overflowsBefore,
      errors: result.errors,
      drainMillis: result.drainMillis
    }
  } finally {
    server.stop()
  }
}

/** Runs the keyed burst on each runtime (and a larger one on Node) and prints one table. */
export const runBurstBench = async (
  runtimes: ReadonlyArray<Runtime>,
  keys: number,
  nodeKeys: number
): Promise<Array<BurstRow>> => {
  const rows: Array<BurstRow> = []
  for (const runtime of runtimes) rows.push(await measureBurst(runtime, keys))
  if (runtimes.includes("node") && nodeKeys !== keys) rows.push(await measureBurst("node", nodeKeys))
  console.log("\n### Keyed burst: keys × 100 actions, shuffled, 6 duplicates a key, 10 gaps, all at once, default settings\n")
  console.log(`load average ${loadavg().map((n) => n.toFixed(1)).join(", ")} at the end\n`)
  console.log(
    "| runtime | keys × actions | requests | applied | 409 | 504 | shed (503, resent) | resent (408, failed connect) | no answer | connects dropped | drained in |"
  )
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
  for (const r of rows) {
    const errors = Object.entries(r.errors).map(([code, n]) => `${n} ${code}`).join(", ") || "0"
    console.log(
      `| ${r.runtime} | ${r.keys} × 100 | ${r.requests} | ${r.applied} of ${r.applicable} | ${r.conflicts} | ${r.gaps} | ` +
        `${r.shed} | ${r.retried} | ${errors} | ${r.listenOverflows ?? "?"} | ${(r.drainMillis / 1000).toFixed(1)} s |`
    )
  }
  return rows
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ""))
if (isMain) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`)
    return i === -1 ? undefined : process.argv[i + 1]
  }
  const number = (name: string) => arg(name) === undefined ? undefined : Number(arg(name))
  if (!process.argv.includes("--burst-only")) {
    await runHttpBench({
      runtimes: arg("runtimes")?.split(",") as Array<Runtime> | undefined,
      durationSeconds: number("duration"),
      connections: number("connections"),
      latenciesMs: arg("latency-ms")?.split(",").map(Number)
    })
  }
  await runBurstBench(
    (arg("runtimes")?.split(",") as Array<Runtime> | undefined) ?? ["node", "deno", "bun", "workerd"],
    number("burst-keys") ?? 40,
    number("burst-keys-node") ?? 100
  )
}
