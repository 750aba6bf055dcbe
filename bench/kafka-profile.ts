/**
 * Where `effect-ordered/kafka`'s consumer CPU goes, in `npm run bench:kafka`'s
 * workload (8 partitions, 1000 keys, `process` sleeping 0–20 ms, the commit
 * appending to a file), without its baseline and crash runs:
 *
 *   node --import tsx bench/kafka-profile.ts [--runs 3] [--cpu-prof] [--alloc] [--built]
 *
 * Each run starts one consumer process (test/kafka/consumer.ts), waits until
 * it holds every partition, publishes the actions and waits until all are
 * applied; it prints the consumer's CPU µs per action (from /proc, from the
 * first publish on) and the share of a core it got. `--cpu-prof` writes a
 * V8 CPU profile of each consumer to build/kafka-profile/ and prints its top
 * functions by self time over the measured span; `--alloc` samples what the
 * consumer allocates from the first publish on (garbage included: the
 * sampling heap profiler told to keep collected objects) and prints the top
 * allocating functions. `--built` runs the consumer compiled by
 * `tsc -p tsconfig.bench.json` (build/test/kafka/consumer.js) instead of
 * through tsx, whose single-line output and `keepNames` helpers blur a
 * profile's functions.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { loadavg } from "node:os"
import { join } from "node:path"
import { spawn } from "node:child_process"
import type { ConsumerConfig } from "../test/kafka/consumer.ts"
import { load, replay, workload } from "../test/kafka/sink.ts"
import { waitFor } from "../test/redis/server.ts"
import { assignedPartitions, cpuOf, startBench } from "./kafkaShared.ts"
import { line } from "./line.ts"

const P = 8
const KEYS = 1000
const ACTIONS = Number(process.env.ACTIONS ?? 10_000)
const flag = (name: string) => process.argv.includes(name)
const runsAt = process.argv.indexOf("--runs")
const runs = runsAt === -1 ? 1 : Number(process.argv[runsAt + 1])
if (!Number.isInteger(runs) || runs < 1) throw new Error(`Expected \`--runs\` to be an integer ≥ 1, got \`${process.argv[runsAt + 1]}\``)
const out = join(process.cwd(), "build", "kafka-profile")
rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })

/**
 * Preloaded into the consumer with `--alloc`: starts the sampling heap
 * profiler on SIGUSR2 (sent at the first publish), keeping objects that
 * garbage collection freed, and writes its profile when the process exits.
 */
const allocationSampler = join(out, "sampler.mjs")
writeFileSync(
  allocationSampler,
  `import { Session } from "node:inspector"
import { writeFileSync } from "node:fs"
const session = new Session()
session.connect()
session.post("HeapProfiler.enable")
process.on("SIGUSR2", () => session.post("HeapProfiler.startSampling", {
  samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true
}))
process.on("exit", () => session.post("HeapProfiler.stopSampling", (error, result) => {
  if (!error) writeFileSync(${JSON.stringify(out)} + "/" + process.pid + ".heapprofile", JSON.stringify(result.profile))
}))
`
)
const profiling = [
  ...(flag("--cpu-prof") ? ["--cpu-prof", `--cpu-prof-dir=${out}`] : []),
  ...(flag("--alloc") ? ["--import", allocationSampler] : [])
]


interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}

const where = (frame: CallFrame) => {
  const file = frame.url.replace(/^file:\/\//, "").replace(process.cwd() + "/", "")
  return `${frame.functionName || "(anonymous)"} ${file}:${frame.lineNumber + 1}`
}

const isProject = (frame: CallFrame) => /\/(src|test)\//.test(frame.url) && !frame.url.includes("node_modules")

const top = (totals: Map<string, number>, unit: (n: number) => string, all: number) =>
  [...totals].sort((a, b) => b[1] - a[1]).slice(0, 30).map(([name, n]) => `${(100 * n / all).toFixed(1).padStart(5)}%  ${unit(n).padStart(8)}  ${name}`)

/** The measured spans (µs on the monotonic clock V8's profiles use): from the first publish to the last commit. */
const spans: Array<readonly [number, number]> = []
const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n)

/** Self time per function, and per file group, of a `.cpuprofile`, within the measured spans. */
const cpuTop = (file: string): Array<string> => {
  const profile = JSON.parse(readFileSync(file, "utf8")) as {
    nodes: Array<{ id: number; callFrame: CallFrame; children?: Array<number> }>
    startTime: number
    samples: Array<number>
    timeDeltas: Array<number>
  }
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const self = new Map<string, number>()
  const groups = new Map<string, number>()
  // Inclusive time of the project's own functions (src/, test/): what runs under them, once per sample.
  const inclusive = new Map<string, number>()
  let all = 0
  let at = profile.startTime
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)!.callFrame
    const micros = profile.timeDeltas[i] ?? 0
    at += micros
    if (!spans.some(([from, to]) => at >= from && at <= to)) return
    if (frame.functionName === "(idle)" || frame.functionName === "(program)") return
    all += micros
    const seen = new Set<string>()
    for (let node: number | undefined = id; node !== undefined; node = parent.get(node)) {
      const caller = byId.get(node)!.callFrame
      if (!isProject(caller) || seen.has(where(caller))) continue
      seen.add(where(caller))
      inclusive.set(where(caller), (inclusive.get(where(caller)) ?? 0) + micros)
    }
    self.set(where(frame), (self.get(where(frame)) ?? 0) + micros)
    const group = frame.url === "" ? frame.functionName || "(native)" : frame.url.replace(/^.*node_modules\/([^/]+(\/[^/]+)?)\/.*$/, "$1").replace(/^file:\/\/.*\/(src|test)\//, "$1/").replace(/^node:.*/, "node:*")
    groups.set(group, (groups.get(group) ?? 0) + micros)
  })
  const ms = (n: number) => `${(n / 1000).toFixed(0)} ms`
  return [
    `busy ${ms(all)}; by file:`, ...top(groups, ms, all).slice(0, 15),
    "by function (self):", ...top(self, ms, all),
    "the project's functions (inclusive):", ...top(inclusive, ms, all)
  ]
}

interface HeapNode {
  readonly callFrame: CallFrame
  readonly selfSize: number
  readonly children: ReadonlyArray<HeapNode>
}

/** Sampled bytes allocated per function, from a `.heapprofile` of the sampler above. */
const heapTop = (file: string): Array<string> => {
  const profile = JSON.parse(readFileSync(file, "utf8")) as { head: HeapNode }
  const self = new Map<string, number>()
  // Charged to the innermost project function (src/, test/) on the stack: what its call allocated through libraries.
  const byProject = new Map<string, number>()
  let all = 0
  const visit = (node: HeapNode, project: string) => {
    const here = isProject(node.callFrame) ? where(node.callFrame) : project
    all += node.selfSize
    self.set(where(node.callFrame), (self.get(where(node.callFrame)) ?? 0) + node.selfSize)
    byProject.set(here, (byProject.get(here) ?? 0) + node.selfSize)
    for (const child of node.children) visit(child, here)
  }
  visit(profile.head, "(no project function on the stack)")
  const kB = (n: number) => `${(n / 1e3).toFixed(0)} kB`
  return [
    `${(all / 1e6).toFixed(0)} MB allocated (sampled); by function:`, ...top(self, kB, all),
    "by the innermost project function on the stack:", ...top(byProject, kB, all)
  ]
}

const { broker, admin, producer, dir, stop } = await startBench("kafka-profile")


console.log(`${ACTIONS} actions, ${KEYS} keys, ${P} partitions; load average ${loadavg().map((l) => l.toFixed(1)).join(" ")}`)
try {
  for (let i = 1; i <= runs; i++) {
    const topic = `profile-${i}`
    await admin.createTopics({ topics: [{ topic, numPartitions: P }] })
    const sink = join(dir, `${topic}.jsonl`)
    const config: ConsumerConfig = {
      brokers: broker.brokers, topic, group: topic, consumer: topic, sink, concurrency: 100,
      maxLatencyMs: 20, sessionTimeoutMs: 6000
    }
    const script = flag("--built") ? ["build/test/kafka/consumer.js"] : ["--import", "tsx", "test/kafka/consumer.ts"]
    // The consumer checks it runs on the line it is told (test/utils/child.ts).
    const child = spawn(process.execPath, [...profiling, ...script, JSON.stringify(config)], {
      stdio: "inherit",
      env: { ...process.env, EFFECT_ORDERED_LINE: String(line) }
    })
    const exited = new Promise((resolve) => child.once("exit", resolve))
    await waitFor("the consumer holding all partitions", async () => (await assignedPartitions(admin, topic)) === P, 120_000)
    const { actions } = workload(ACTIONS, KEYS)
    const cpu0 = cpuOf(child.pid!)
    if (flag("--alloc")) child.kill("SIGUSR2")
    const from = monotonicMicros()
    const t0 = performance.now()
    await load(producer, topic, actions)
    await waitFor("every action applied", async () => replay(sink).applied === ACTIONS, 900_000)
    const seconds = (performance.now() - t0) / 1000
    const micros = cpuOf(child.pid!) - cpu0
    spans.push([from, monotonicMicros()])
    child.kill("SIGTERM")
    await exited
    console.log(
      `run ${i}: ${(ACTIONS / seconds).toFixed(0)} actions/s, consumer CPU ${(micros / ACTIONS).toFixed(0)} µs/action, ` +
        `${(micros / 1e6 / seconds).toFixed(2)} of a core; load average ${loadavg()[0].toFixed(1)}`
    )
  }
  for (const file of readdirSync(out).filter((name) => /\.(cpu|heap)profile$/.test(name))) {
    console.log(`\n${file}`)
    console.log((file.endsWith(".cpuprofile") ? cpuTop : heapTop)(join(out, file)).join("\n"))
  }
} finally {
  await stop()
}
