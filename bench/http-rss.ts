/**
 * Memory of the edge servers after a burst: 2,000 concurrent small batches
 * (10 actions each) at once, then the servers sit idle. For each runtime,
 * the resident set size (from /proc) before, right after, after a full GC
 * and after some idle seconds; also the heap (`process.memoryUsage()`) and
 * the live objects before and after, compared by constructor: whatever the
 * burst left behind that is still reachable shows up there. Node and Deno are
 * read through the V8 inspector protocol (a forced GC, a heap snapshot), Bun
 * through `bench/bun-heap.ts`, preloaded (`Bun.gc(true)`, `bun:jsc` heapStats). A second burst tells
 * a leak (it grows again) from a heap sized for the peak (it does not).
 *
 *   node --experimental-websocket --import tsx bench/http-rss.ts [--runtimes node,deno,bun] [--burst 2000] [--idle 5]
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { Agent, request } from "node:http"
import { freePort, root, type Runtime as AnyRuntime, serverCommands } from "../test/edge/launch.ts"
import { formatBytes, placeThenCancel } from "./table.ts"

const actionsPerBatch = 10

/** The servers with a process of their own to read (workerd's memory is the workerd binary's). */
type Runtime = Exclude<AnyRuntime, "workerd">

/** The inspector flag goes right after the executable (Node) or after `run` (Deno); Bun gets the preload instead. */
const inspectable = (runtime: Runtime): ReadonlyArray<string> => {
  const [command, ...args] = serverCommands[runtime]
  if (runtime === "node") return [command, "--inspect=127.0.0.1:0", ...args]
  if (runtime === "deno") return [command, args[0], "--inspect=127.0.0.1:0", ...args.slice(1)]
  return [command, "--preload", "./bench/bun-heap.ts", ...args]
}

type Objects = Map<string, { count: number; bytes: number }>

/** How the bench reads a server's heap: a GC, then the memory figures and the live objects per constructor. */
interface HeapProbe {
  readonly memoryUsage: (gc: boolean) => Promise<NodeJS.MemoryUsage | undefined>
  readonly objects: () => Promise<Objects>
  readonly close: () => void
}

/** Bun: SIGUSR2 to the preloaded `bun-heap.ts`, which answers with one line on stdout. */
const bunProbe = (child: ChildProcess): HeapProbe => {
  const read = () =>
    new Promise<{ memory: NodeJS.MemoryUsage; objects: Record<string, number> }>((resolve) => {
      let buffer = ""
      const onData = (data: Buffer) => {
        buffer += data
        const line = buffer.split("\n").find((l) => l.startsWith("bun-heap "))
        if (line === undefined) return
        child.stdout!.off("data", onData)
        resolve(JSON.parse(line.slice("bun-heap ".length)))
      }
      child.stdout!.on("data", onData)
      child.kill("SIGUSR2")
    })
  return {
    // the preload always collects first: "right after" (no GC) is RSS only on Bun
    memoryUsage: async (gc) => gc ? (await read()).memory : undefined,
    objects: async () =>
      new Map(Object.entries((await read()).objects).map(([name, count]) => [name, { count, bytes: 0 }])),
    close: () => {}
  }
}

/** A minimal Chrome DevTools Protocol client over the inspector's WebSocket. */
const connectInspector = async (url: string) => {
  const socket = new WebSocket(url)
  await new Promise((resolve, reject) => {
    socket.onopen = resolve
    socket.onerror = reject
  })
  let id = 0
  const pending = new Map<number, (result: any) => void>()
  const listeners = new Map<string, (params: any) => void>()
  socket.onmessage = (event) => {
    const message = JSON.parse(String(event.data))
    if (message.id !== undefined) pending.get(message.id)?.(message.result)
    else listeners.get(message.method)?.(message.params)
  }
  const send = (method: string, params: Record<string, unknown> = {}): Promise<any> =>
    new Promise((resolve) => {
      pending.set(++id, resolve)
      socket.send(JSON.stringify({ id, method, params }))
    })
  const evaluate = async (expression: string) =>
    (await send("Runtime.evaluate", { expression, returnByValue: true })).result.value
  return {
    memoryUsage: async (): Promise<NodeJS.MemoryUsage> => JSON.parse(await evaluate("JSON.stringify(process.memoryUsage())")),
    collectGarbage: () => send("HeapProfiler.collectGarbage"),
    /** A heap snapshot (taken after a GC), summarised as live objects per constructor: count and bytes. */
    snapshot: async (): Promise<Objects> => {
      const chunks: Array<string> = []
      listeners.set("HeapProfiler.addHeapSnapshotChunk", (params) => chunks.push(params.chunk))
      await send("HeapProfiler.takeHeapSnapshot", { reportProgress: false })
      return summarise(JSON.parse(chunks.join("")))
    },
    close: () => socket.close()
  }
}

/** Live objects per constructor name (V8 heap snapshot format: a flat `nodes` array described by `meta`). */
const summarise = (snapshot: any): Objects => {
  const fields: Array<string> = snapshot.snapshot.meta.node_fields
  const types: Array<string> = snapshot.snapshot.meta.node_types[0]
  const [typeAt, nameAt, sizeAt] = ["type", "name", "self_size"].map((f) => fields.indexOf(f))
  const byName = new Map<string, { count: number; bytes: number }>()
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    const type = types[snapshot.nodes[i + typeAt]]
    if (type !== "object" && type !== "closure" && type !== "string") continue
    const name = type === "string" ? "(string)" : type === "closure" ? `(closure)` : snapshot.strings[snapshot.nodes[i + nameAt]]
    const entry = byName.get(name) ?? { count: 0, bytes: 0 }
    entry.count++
    entry.bytes += snapshot.nodes[i + sizeAt]
    byName.set(name, entry)
  }
  return byName
}

const rssOf = (pid: number): number =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024

/** Sends `count` batches at once, each on its own connection; resolves when every response has ended, with what failed. */
const burst = async (port: number, count: number, tag: string): Promise<Array<string>> => {
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity })
  const failures: Array<string> = []
  await Promise.all(Array.from({ length: count }, (_, i) =>
    new Promise<void>((resolve) => {
      const req = request({ agent, port, host: "127.0.0.1", method: "POST", path: "/actions" }, (res) => {
        if (res.statusCode !== 200) failures.push(`status ${res.statusCode}`)
        res.resume()
        res.on("end", resolve)
        res.on("error", (error) => (failures.push(error.message), resolve()))
      })
      req.on("error", (error) => (failures.push((error as NodeJS.ErrnoException).code ?? error.message), resolve()))
      req.end(placeThenCancel(actionsPerBatch, `${tag}-${i}`))
    })))
  agent.destroy()
  return failures
}

interface Reading {
  readonly rss: number
  readonly heap?: NodeJS.MemoryUsage | undefined
}

export interface RssRow {
  readonly runtime: Runtime
  /** Batches of the burst that did not get a whole 200 response, and why. */
  readonly failures: ReadonlyArray<string>
  readonly before: Reading
  readonly afterBurst: Reading
  readonly afterGc: Reading
  readonly afterIdle: Reading
  /** After the same burst again and a full GC. */
  readonly afterSecondBurst: Reading
  /** Constructors with the most more live objects after the burst (and a GC) than before. */
  readonly retained: Array<{ name: string; count: number; bytes: number }>
}

const start = async (runtime: Runtime): Promise<{ child: ChildProcess; port: number; inspector?: string }> => {
  const port = await freePort()
  const [command, ...args] = inspectable(runtime)
  const child = spawn(command, args, {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PORT: String(port), NO_COLOR: "1", MAX_ACTIONS: String(actionsPerBatch) }
  })
  let output = ""
  child.stdout!.on("data", (data) => output += data)
  child.stderr!.on("data", (data) => output += data)
  for (let attempt = 0; attempt < 300 && child.exitCode === null; attempt++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) {
        const inspector = /(ws:\/\/127\.0\.0\.1:\d+\/\S+)/.exec(output)?.[1]
        return { child, port, ...(inspector ? { inspector } : {}) }
      }
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  child.kill("SIGKILL")
  throw new Error(`${runtime} server did not start:\n${output}`)
}

export const measureRss = async (runtime: Runtime, count: number, idleSeconds: number): Promise<RssRow> => {
  const { child, inspector, port } = await start(runtime)
  const probe: HeapProbe = inspector === undefined ? bunProbe(child) : await (async () => {
    const cdp = await connectInspector(inspector)
    return {
      memoryUsage: async (gc: boolean) => {
        if (gc) await cdp.collectGarbage()
        return cdp.memoryUsage()
      },
      objects: cdp.snapshot,
      close: cdp.close
    }
  })()
  try {
    const read = async (gc: boolean): Promise<Reading> => {
      const heap = await probe.memoryUsage(gc)
      return { rss: rssOf(child.pid!), heap }
    }
    // warm up: JIT, the first request building the services
    for (let i = 0; i < 5; i++) await burst(port, 20, `warm-${i}`)

    const before = await read(true)
    const snapshotBefore = await probe.objects()
    const failures = await burst(port, count, "burst")
    const afterBurst = await read(false)
    const afterGc = await read(true)
    const snapshotAfter = await probe.objects()
    await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000))
    const afterIdle = await read(true)
    // a leak grows with every burst; a heap sized for the peak does not
    const secondFailures = await burst(port, count, "again")
    const afterSecondBurst = await read(true)
    const retained = [...snapshotAfter].map(([name, after]) => {
      const was = snapshotBefore.get(name) ?? { count: 0, bytes: 0 }
      return { name, count: after.count - was.count, bytes: after.bytes - was.bytes }
    }).sort((a, b) => b.bytes - a.bytes || b.count - a.count).slice(0, 8)
    return {
      runtime,
      failures: [...failures, ...secondFailures],
      before,
      afterBurst,
      afterGc,
      afterIdle,
      afterSecondBurst,
      retained
    }
  } finally {
    probe.close()
    child.kill("SIGKILL")
  }
}

const printRows = (rows: ReadonlyArray<RssRow>, count: number, idleSeconds: number) => {
  const cell = (reading: Reading) =>
    `${formatBytes(reading.rss)}${reading.heap ? ` (heap ${formatBytes(reading.heap.heapUsed)} of ${formatBytes(reading.heap.heapTotal)})` : ""}`
  console.log(`\n### RSS (heap used of total) around a burst of ${count} concurrent batches of ${actionsPerBatch} actions\n`)
  console.log(
    `| runtime | before | right after | after a full GC | after ${idleSeconds} s idle | after a second burst and a GC | failed batches |`
  )
  console.log("| --- | --- | --- | --- | --- | --- | --- |")
  for (const r of rows) {
    const reasons = [...new Set(r.failures)].join(", ")
    console.log(
      `| ${r.runtime} | ${cell(r.before)} | ${cell(r.afterBurst)} | ${cell(r.afterGc)} | ${cell(r.afterIdle)} | ${cell(r.afterSecondBurst)} | ` +
        `${r.failures.length}${reasons ? ` (${reasons})` : ""} |`
    )
  }
  for (const r of rows.filter((row) => row.retained.length > 0)) {
    console.log(`\n${r.runtime}: live objects after the burst and a GC minus before, largest growth first (Bun: counts only)`)
    console.log("| constructor | objects | bytes |\n| --- | --- | --- |")
    for (const entry of r.retained) console.log(`| ${entry.name} | ${entry.count} | ${entry.bytes} |`)
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ""))
if (isMain) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`)
    return i === -1 ? undefined : process.argv[i + 1]
  }
  const runtimes = (arg("runtimes")?.split(",") ?? ["node", "deno", "bun"]) as Array<Runtime>
  const count = Number(arg("burst") ?? 2000)
  const idleSeconds = Number(arg("idle") ?? 5)
  const rows: Array<RssRow> = []
  for (const runtime of runtimes) rows.push(await measureRss(runtime, count, idleSeconds))
  printRows(rows, count, idleSeconds)
}
