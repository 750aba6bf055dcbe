/**
 * `node --import tsx bench/kafka-protocols.ts`: what a planned rebalance costs
 * under each group protocol a Node client speaks here, on one local Kafka 4
 * broker started and stopped by this script (scripts/kafka.sh, 127.0.0.1).
 *
 * Scenario, the same for every client: RECORDS keyed records on P partitions,
 * published at RATE a second (below what the consumers can do, so that
 * between rebalances they keep up); two consumer processes
 * (bench/kafkaProtocolConsumer.ts: up to WINDOW records of a partition in
 * flight, each sleeping uniform 0–MAX_LATENCY_MS); a third joins once a
 * quarter is processed; once half is processed and the third has processed
 * some (100), the first leaves gracefully (SIGTERM: drain, commit, leave).
 * Counted from the sink every process appends to, from each event to the
 * next: records whose processing started again (the work redone, interrupted
 * runs included) and completed again, the longest time with no record
 * completed at all, the longest pause of one partition, the partitions moved.
 *
 * Clients: `consume` of effect-ordered (KafkaJS, classic protocol, eager);
 * `@platformatic/kafka` (devDependency) with the `consumer` protocol
 * (KIP-848); `@confluentinc/kafka-javascript` with the classic protocol
 * (eager round-robin, and cooperative-sticky) and the `consumer` protocol. The
 * last is not a dependency (a native build of minutes); when it is not
 * installed its rows are skipped with a message. Install it with
 * `CKJS_LINKING=dynamic npm install --no-save @confluentinc/kafka-javascript`
 * (the default static link downloads its C dependencies from their sites).
 */
import { closeSync, openSync, readSync } from "node:fs"
import { loadavg } from "node:os"
import { join } from "node:path"
import { waitFor } from "../test/redis/server.ts"
import { type Child, spawnScript } from "../test/utils/child.ts"
import { type Client, confluentPackage, type ProtocolConsumerConfig, type SinkLine, startBench } from "./kafkaShared.ts"
import { line } from "./line.ts"
import { formatMillis, printTable } from "./table.ts"

const P = Number(process.env.PARTITIONS ?? 8)
const RECORDS = Number(process.env.RECORDS ?? 15_000)
const RATE = Number(process.env.RATE ?? 500)
const KEYS = 500
const WINDOW = Number(process.env.WINDOW ?? 8)
const MAX_LATENCY_MS = Number(process.env.MAX_LATENCY_MS ?? 50)
const RUNS = Number(process.env.RUNS ?? 1)
/** Runs only the scenarios whose `client-protocol` contains it, e.g. `ONLY=confluent`. */
const ONLY = process.env.ONLY ?? ""

interface Scenario {
  readonly name: string
  readonly client: Client
  readonly protocol: ProtocolConsumerConfig["protocol"]
}

const scenarios: ReadonlyArray<Scenario> = ([
  { name: "consume (KafkaJS), classic eager", client: "consume", protocol: "eager" },
  { name: "@platformatic/kafka, consumer (KIP-848)", client: "platformatic", protocol: "consumer" },
  { name: "@confluentinc, classic eager", client: "confluent", protocol: "eager" },
  { name: "@confluentinc, classic cooperative-sticky", client: "confluent", protocol: "cooperative" },
  { name: "@confluentinc, consumer (KIP-848)", client: "confluent", protocol: "consumer" }
] as const).filter((s) => `${s.client}-${s.protocol}`.includes(ONLY))

const confluentMissing = await import(confluentPackage).then(
  () => undefined,
  (error: unknown) => String(error).split("\n")[0]
)

// The consumer protocol's session and heartbeat, set like the classic ones `consume` uses (6 s, 1 s); the broker's
// defaults (45 s, 5 s, also its minimums) would make each of its rebalances wait for 5-second heartbeats.
const { broker, admin, producer, dir, stop } = await startBench("kafka-protocols", {
  "group.consumer.min.session.timeout.ms": 1000,
  "group.consumer.session.timeout.ms": 6000,
  "group.consumer.min.heartbeat.interval.ms": 500,
  "group.consumer.heartbeat.interval.ms": 1000
})
const children: Array<Child> = []
const killChildren = () => {
  for (const child of children) if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill("SIGKILL")
}

/** Reads the lines appended to a sink since the last call. */
const tail = (file: string) => {
  const lines: Array<SinkLine> = []
  let position = 0
  let partial = ""
  return (): ReadonlyArray<SinkLine> => {
    let fd: number
    try {
      fd = openSync(file, "r")
    } catch {
      return lines
    }
    const buffer = Buffer.alloc(1 << 20)
    for (let n = readSync(fd, buffer, 0, buffer.length, position); n > 0; n = readSync(fd, buffer, 0, buffer.length, position)) {
      position += n
      const text = partial + buffer.toString("utf8", 0, n)
      const complete = text.split("\n")
      partial = complete.pop()!
      for (const l of complete) if (l !== "") lines.push(JSON.parse(l))
    }
    closeSync(fd)
    return lines
  }
}

type RecordLine = Extract<SinkLine, { k: unknown }>

const is = (k: RecordLine["k"]) => (l: SinkLine): l is RecordLine => "k" in l && l.k === k
const isCompleted = is("p")

/** Lines of kind `k` whose record had a line of that kind before, in [from, to). */
const again = (lines: ReadonlyArray<SinkLine>, k: RecordLine["k"], from: number, to: number): number => {
  const seen = new Set<string>()
  let count = 0
  for (const l of lines.filter(is(k))) {
    const id = `${l.p}:${l.o}`
    if (seen.has(id) && l.at >= from && l.at < to) count++
    seen.add(id)
  }
  return count
}

/**
 * Longest time without a completion in [from, to], the gap before the first one included; `to` is cut at the last
 * completion (a partition that ran out of records is not paused).
 */
const longestGap = (times: ReadonlyArray<number>, from: number, to: number): number => {
  const end = Math.min(to, times.at(-1) ?? from)
  let last = from
  let longest = 0
  for (const at of times) {
    if (at < from) continue
    if (at > end) break
    longest = Math.max(longest, at - last)
    last = at
  }
  return Math.max(longest, end - last)
}

interface Phase {
  /** `process` started again for a record already started (interrupted runs included): the work redone. */
  readonly startedAgain: number
  readonly completedAgain: number
  readonly committedAgain: number
  /** Longest time with no record completed by any consumer. */
  readonly stall: number
  /** Longest time one partition had no record completed. */
  readonly partitionPause: number
  /** Partitions whose last completion before the event and the phase's last one are by different consumers. */
  readonly moved: number
  /** Longest time from the event to a moved partition's first completion by its new owner. */
  readonly handover: number
  /** Offset commits refused (by the raw clients; `consume` logs its own). */
  readonly refused: number
}

const phase = (lines: ReadonlyArray<SinkLine>, from: number, to: number): Phase => {
  const done = lines.filter(isCompleted).sort((a, b) => a.at - b.at)
  let partitionPause = 0
  let moved = 0
  let handover = 0
  for (let p = 0; p < P; p++) {
    const mine = done.filter((l) => l.p === p)
    partitionPause = Math.max(partitionPause, longestGap(mine.map((l) => l.at), from, to))
    const owner = mine.filter((l) => l.at <= to).at(-1)?.c
    if (mine.filter((l) => l.at < from).at(-1)?.c === owner) continue
    moved++
    handover = Math.max(handover, mine.find((l) => l.at >= from && l.c === owner)!.at - from)
  }
  return {
    startedAgain: again(lines, "s", from, to),
    completedAgain: again(lines, "p", from, to),
    committedAgain: again(lines, "c", from, to),
    stall: longestGap(done.map((l) => l.at), from, to),
    partitionPause,
    moved,
    handover,
    refused: lines.filter((l) => "mark" in l && l.mark === "refused" && l.at >= from && l.at < to).length
  }
}

/**
 * Publishes RECORDS records at RATE a second, a batch every 100 ms: the consumers keep up between rebalances (a
 * backlog would measure how a client shares its fetches among partitions, not the rebalance).
 */
const load = async (topic: string) => {
  const batch = Math.max(1, Math.round(RATE / 10))
  const t0 = performance.now()
  for (let i = 0; i < RECORDS; i += batch) {
    const messages = Array.from({ length: Math.min(batch, RECORDS - i) }, (_, j) => ({ key: `k${(i + j) % KEYS}`, value: JSON.stringify({ i: i + j }) }))
    await producer.send({ topic, messages })
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, t0 + ((i + batch) / RATE) * 1000 - performance.now())))
  }
}

const runScenario = async (scenario: Scenario, run: number) => {
  const topic = `protocols-${scenario.client}-${scenario.protocol}-${run}`
  await admin.createTopics({ topics: [{ topic, numPartitions: P }], waitForLeaders: true })
  const sink = join(dir, `${topic}.jsonl`)
  const read = tail(sink)
  const start = (consumer: string) => {
    const config: ProtocolConsumerConfig = {
      ...scenario, brokers: broker.brokers, topic, group: topic, consumer, sink, partitions: P, window: WINDOW, maxLatencyMs: MAX_LATENCY_MS
    }
    const child = spawnScript(consumer, "bench/kafkaProtocolConsumer.ts", config, line)
    children.push(child)
    return child
  }
  const distinct = () => new Set(read().filter(isCompleted).map((l) => `${l.p}:${l.o}`)).size
  const by = (consumer: string) => read().filter((l) => isCompleted(l) && l.c === consumer).length
  const t0 = Date.now()
  const [first, second] = [start("c1"), start("c2")]
  const loaded = load(topic)
  try {
    await waitFor("a quarter processed", async () => distinct() >= RECORDS / 4, 300_000)
    const third = start("c3")
    await waitFor("the third processing, half processed", async () => by("c3") >= 100 && distinct() >= RECORDS / 2, 300_000)
    const leaveAt = Date.now()
    first.process.kill("SIGTERM")
    const leftWith = await first.exited
    const leftAfter = Date.now() - leaveAt
    await loaded
    await waitFor("every record processed", async () => distinct() === RECORDS, 300_000)
    const end = Date.now()
    for (const child of [second, third]) child.process.kill("SIGTERM")
    await Promise.all([second.exited, third.exited])
    const lines = read()
    const joinAt = lines.find((l) => "mark" in l && l.mark === "joining" && l.c === "c3")!.at
    return {
      join: phase(lines, joinAt, leaveAt),
      leave: phase(lines, leaveAt, end),
      seconds: (end - t0) / 1000,
      leaver: `${leftWith}, ${formatMillis(leftAfter)}`
    }
  } finally {
    // A scenario that failed must not load the next one.
    killChildren()
  }
}

const rows: Array<Array<string>> = []
try {
  for (let run = 1; run <= RUNS; run++) {
    for (const scenario of scenarios) {
      if (scenario.client === "confluent" && confluentMissing !== undefined) {
        if (run === 1) console.log(`skipped ${scenario.name}: @confluentinc/kafka-javascript is not installed (${confluentMissing})`)
        continue
      }
      const r = await runScenario(scenario, run).catch((error: unknown) => String(error).split("\n")[0])
      if (typeof r === "string") {
        rows.push([scenario.name, r, ...Array<string>(10).fill("")])
        console.log(rows.at(-1)!.join(" | "))
        continue
      }
      const both = (f: (p: Phase) => string) => `${f(r.join)} / ${f(r.leave)}`
      rows.push([
        scenario.name,
        both((p) => String(p.startedAgain)),
        both((p) => String(p.completedAgain)),
        scenario.client === "consume" ? both((p) => String(p.committedAgain)) : "–",
        both((p) => formatMillis(p.stall)),
        both((p) => formatMillis(p.partitionPause)),
        both((p) => String(p.moved)),
        both((p) => formatMillis(p.handover)),
        scenario.client === "consume" ? "–" : both((p) => String(p.refused)),
        `${r.seconds.toFixed(1)} s`,
        r.leaver
      ])
      console.log(rows.at(-1)!.join(" | "))
    }
  }
  printTable(
    `Planned rebalances: ${RECORDS} records at ${RATE}/s, ${P} partitions, ${WINDOW} in flight per partition, process 0–${MAX_LATENCY_MS} ms; a join, then a graceful leave (load average ${loadavg()[0].toFixed(1)})`,
    ["client, protocol", "started again (join / leave)", "completed again", "`commit` again", "no progress at all", "longest partition pause", "partitions moved", "moved partition's first record", "commits refused", "run", "leaver's exit code, time to exit"],
    rows
  )
} finally {
  killChildren()
  await stop(process.env.KEEP_SINKS !== undefined)
  if (process.env.KEEP_SINKS) console.log(`sinks kept in ${dir}`)
}
