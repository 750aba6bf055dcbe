/**
 * Where a batch's wall time goes on the Node server: `POST /actions` with
 * 100 actions a request from `--connections` keep-alive connections, for
 * each `LATENCY_MS` in `--latency-ms`. The server runs in a child process
 * with its costly step timed; it reports its CPU time per request, its
 * event-loop utilisation, how long each 5 ms sleep really took, and how many
 * steps ran at once, so the client's own CPU does not count.
 *
 *   node --import tsx bench/http-profile.ts [--duration 5] [--connections 16] [--latency-ms 0,5] [--cpu-prof]
 *
 * `--cpu-prof` writes a V8 CPU profile of each server to build/http-profile/
 * (open it in Chrome DevTools or speedscope).
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { fork } from "node:child_process"
import { Agent, createServer, request } from "node:http"
import { monitorEventLoopDelay, performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { app, configFromEnv, defaultConfig, layer } from "../examples/edge/app.ts"
import type { Action } from "../examples/edge/domain.ts"
import { sleepingStep } from "../examples/edge/services.ts"
import { placeThenCancel } from "./table.ts"

const actionsPerRequest = 100

/** What the server measured between "start" and "stop". */
export interface ServerProfile {
  readonly batches: number
  readonly cpuMillisPerBatch: number
  readonly eventLoopUtilization: number
  readonly eventLoopDelayP99Millis: number
  /** How long each step's sleep really took (requested: `LATENCY_MS`). */
  readonly stepP50Millis: number
  readonly stepP99Millis: number
  /** Mean number of steps running at once, over the whole server. */
  readonly meanStepsInFlight: number
  /** From a batch's first step starting to its last step finishing. */
  readonly batchStepSpanP50Millis: number
}

const percentile = (values: Array<number>, p: number): number => {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
}

/** The child: the example's server with a timed costly step, driven over IPC. */
const serve = async () => {
  const config = configFromEnv("node", process.env)
  const sleep = sleepingStep(config)
  let steps: Array<number> = []
  let inFlight = 0
  let inFlightIntegral = 0
  let lastChange = performance.now()
  /** Per batch (the key prefix the load generator gives each request): when its first step started. */
  const batchStart = new Map<string, number>()
  let spans: Array<number> = []
  let batches = 0
  const account = () => {
    const now = performance.now()
    inFlightIntegral += inFlight * (now - lastChange)
    lastChange = now
  }
  const step = (action: Action, index: number) =>
    Effect.suspend(() => {
      const started = performance.now()
      const batch = action.key.slice(0, action.key.lastIndexOf("-"))
      if (!batchStart.has(batch)) batchStart.set(batch, started)
      account()
      inFlight++
      return Effect.ensuring(
        sleep(action),
        Effect.sync(() => {
          const ended = performance.now()
          account()
          inFlight--
          steps.push(ended - started)
          if (index === actionsPerRequest - 1) {
            batches++
            spans.push(ended - batchStart.get(batch)!)
            batchStart.delete(batch)
          }
        })
      )
    })
  const runtime = ManagedRuntime.make(layer(config, { step }))
  const server = createServer(await runtime.runPromise(NodeHttpServer.makeHandler(app)))
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const delay = monitorEventLoopDelay({ resolution: 1 })
  let cpu = process.cpuUsage()
  let elu = performance.eventLoopUtilization()
  let startedAt = performance.now()
  process.on("message", (message: string) => {
    if (message === "start") {
      steps = []
      spans = []
      batches = 0
      inFlightIntegral = 0
      lastChange = startedAt = performance.now()
      cpu = process.cpuUsage()
      elu = performance.eventLoopUtilization()
      delay.reset()
      delay.enable()
    } else if (message === "stop") {
      account()
      const used = process.cpuUsage(cpu)
      const profile: ServerProfile = {
        batches,
        cpuMillisPerBatch: (used.user + used.system) / 1000 / Math.max(1, batches),
        eventLoopUtilization: performance.eventLoopUtilization(elu).utilization,
        eventLoopDelayP99Millis: delay.percentile(99) / 1e6,
        stepP50Millis: percentile(steps, 0.5),
        stepP99Millis: percentile(steps, 0.99),
        meanStepsInFlight: inFlightIntegral / (performance.now() - startedAt),
        batchStepSpanP50Millis: percentile(spans, 0.5)
      }
      process.send!(profile, () => process.exit(0))
    }
  })
  const address = server.address()
  process.send!({ port: typeof address === "object" && address ? address.port : 0 })
}

/** Posts one batch; resolves with the number of pieces the response body arrived in. */
const post = (agent: Agent, port: number, body: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const req = request({ agent, port, host: "127.0.0.1", method: "POST", path: "/actions" }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`))
      let pieces = 0
      res.on("data", () => pieces++)
      res.on("end", () => resolve(pieces))
      res.on("error", reject)
    })
    req.on("error", reject)
    req.end(body)
  })

/** Keeps `connections` requests in flight for `millis`; returns each request's latency and body pieces. */
const load = async (
  port: number,
  connections: number,
  millis: number,
  tag: string
): Promise<{ latencies: Array<number>; pieces: Array<number> }> => {
  const agent = new Agent({ keepAlive: true, maxSockets: connections })
  const latencies: Array<number> = []
  const pieces: Array<number> = []
  const until = performance.now() + millis
  let counter = 0
  await Promise.all(Array.from({ length: connections }, async () => {
    while (performance.now() < until) {
      const started = performance.now()
      pieces.push(await post(agent, port, placeThenCancel(actionsPerRequest, `${tag}-${counter++}`)))
      latencies.push(performance.now() - started)
    }
  }))
  agent.destroy()
  return { latencies, pieces }
}

export interface ProfileRow {
  readonly latencyMs: number
  readonly requestsPerSecond: number
  readonly clientP50Millis: number
  /** How many pieces (socket reads) a response body arrived in, on average. */
  readonly bodyPieces: number
  readonly server: ServerProfile
}

export const profile = async (
  options: { readonly latencyMs: number; readonly connections: number; readonly durationSeconds: number; readonly cpuProf: boolean }
): Promise<ProfileRow> => {
  const child = fork(fileURLToPath(import.meta.url), ["--serve"], {
    execArgv: ["--import", "tsx", ...(options.cpuProf ? ["--cpu-prof", "--cpu-prof-dir=build/http-profile"] : [])],
    env: { ...process.env, LATENCY_MS: String(options.latencyMs), MAX_ACTIONS: String(actionsPerRequest) }
  })
  try {
    const { port } = await new Promise<{ port: number }>((resolve) => child.once("message", resolve as any))
    await load(port, 2, 1_000, `warm-${options.latencyMs}`)
    child.send("start")
    const started = performance.now()
    const { latencies, pieces } = await load(port, options.connections, options.durationSeconds * 1000, `run-${options.latencyMs}`)
    const elapsed = performance.now() - started
    const server = await new Promise<ServerProfile>((resolve) => {
      child.once("message", resolve as any)
      child.send("stop")
    })
    // the child exits by itself once it has sent its profile (and written its CPU profile)
    await new Promise((resolve) => child.exitCode === null ? child.once("exit", resolve) : resolve(undefined))
    return {
      latencyMs: options.latencyMs,
      requestsPerSecond: latencies.length / (elapsed / 1000),
      clientP50Millis: percentile(latencies, 0.5),
      bodyPieces: pieces.reduce((a, b) => a + b, 0) / Math.max(1, pieces.length),
      server
    }
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL")
  }
}

const printProfile = (rows: ReadonlyArray<ProfileRow>, connections: number, durationSeconds: number) => {
  const header = [
    "LATENCY_MS",
    "requests/s",
    "p50",
    "body pieces",
    "server CPU/batch",
    "event loop busy",
    "step p50",
    "steps in flight"
  ]
  const cells = rows.map((r) => [
    String(r.latencyMs),
    r.requestsPerSecond.toFixed(0),
    `${r.clientP50Millis.toFixed(0)} ms`,
    r.bodyPieces.toFixed(1),
    `${r.server.cpuMillisPerBatch.toFixed(1)} ms`,
    `${(r.server.eventLoopUtilization * 100).toFixed(0)}%`,
    `${r.server.stepP50Millis.toFixed(1)} ms`,
    r.server.meanStepsInFlight.toFixed(0)
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)))
  const line = (c: ReadonlyArray<string>) => `| ${c.map((x, i) => x.padEnd(widths[i])).join(" | ")} |`
  console.log(`\n### Node server, POST /actions with ${actionsPerRequest} actions, ${connections} connections, ${durationSeconds} s\n`)
  console.log(line(header))
  console.log(`| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`)
  for (const c of cells) console.log(line(c))
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ""))
if (isMain && process.argv.includes("--serve")) await serve()
else if (isMain) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`)
    return i === -1 ? undefined : process.argv[i + 1]
  }
  const connections = Number(arg("connections") ?? 16)
  const durationSeconds = Number(arg("duration") ?? 5)
  const latencies = (arg("latency-ms") ?? `0,${defaultConfig.latencyMs}`).split(",").map(Number)
  const rows: Array<ProfileRow> = []
  for (const latencyMs of latencies) {
    rows.push(await profile({ latencyMs, connections, durationSeconds, cpuProf: process.argv.includes("--cpu-prof") }))
  }
  printProfile(rows, connections, durationSeconds)
}
