/**
 * examples/edge-effect4 (the batch and keyed routes on effect 4's `effect/http`) over real HTTP on
 * loopback, on Node and on workerd (a Durable Object per key, `effect-ordered/workers`' KeySequencer
 * inside). Both are esbuild bundles in which `effect` is effect 4 (the `effect4` npm alias), as an
 * effect-4 project bundles them; each server is a child process on a free port, killed afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { build, type BuildOptions } from "esbuild"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { lifecycleBatch, ndjson, outcome, readAll } from "../edge/harness.ts"
import { freePort, root } from "../edge/launch.ts"

const example = join(root, "examples", "edge-effect4")
/** The bundles and workerd's config, made in `beforeAll`. */
let dir = ""
const env = { CONCURRENCY: "16", LATENCY_MS: "1", SEQUENCER_CAPACITY: "16", GAP_TIMEOUT_MS: "300" }

/** `effect` is effect 4; the package's entries are its source, as in the repository's tsconfig paths. */
const effect4Bundle: BuildOptions = {
  bundle: true,
  format: "esm",
  logLevel: "warning",
  alias: { effect: "effect4" },
  tsconfig: join(root, "tsconfig.build.json"),
  plugins: [{
    name: "effect-ordered source",
    setup: (plugin) =>
      plugin.onResolve({ filter: /^effect-ordered(\/\w+)?$/ }, ({ path }) => ({
        path: join(root, "src", path.slice("effect-ordered".length), "index.ts")
      }))
  }]
}

const workerdConfig = (port: number) => `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")]
);
const worker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "2026-11-01",
  durableObjectNamespaces = [(className = "KeyObject", uniqueKey = "effect-ordered-edge-effect4-keys")],
  durableObjectStorage = (inMemory = void),
  bindings = [
    (name = "KEYS", durableObjectNamespace = "KeyObject"),
${Object.entries(env).map(([name, value]) => `    (name = "${name}", text = "${value}")`).join(",\n")}
  ]
);
`

const servers = new Map<string, { readonly url: string; readonly child: ChildProcess }>()

/** Spawns `command` and waits (at most 30 s) until `GET /healthz` answers. */
const start = async (runtime: string, command: ReadonlyArray<string>, port: number) => {
  const child = spawn(command[0], command.slice(1), {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env, PORT: String(port) }
  })
  let output = ""
  child.stdout!.on("data", (data) => output += data)
  child.stderr!.on("data", (data) => output += data)
  const url = `http://127.0.0.1:${port}`
  servers.set(runtime, { url, child })
  for (let attempt = 0; attempt < 300 && child.exitCode === null; attempt++) {
    if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${runtime} server (effect 4) did not become healthy:\n${output}`)
}

describe("examples/edge-effect4", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "edge-effect4-"))
    await build({ ...effect4Bundle, entryPoints: [join(example, "node.ts")], outfile: join(dir, "node.mjs"), platform: "node" })
    await build({
      ...effect4Bundle,
      entryPoints: [join(example, "worker.ts")],
      outfile: join(dir, "worker.js"),
      platform: "neutral",
      conditions: ["workerd", "worker", "browser"],
      mainFields: ["module", "main"]
    })
    const [nodePort, workerdPort] = [await freePort(), await freePort()]
    writeFileSync(join(dir, "config.capnp"), workerdConfig(workerdPort))
    await Promise.all([
      start("node", [process.execPath, "node.mjs"], nodePort),
      start("workerd", [join(root, "node_modules", ".bin", "workerd"), "serve", "config.capnp"], workerdPort)
    ])
  }, 120_000)

  afterAll(() => {
    for (const { child } of servers.values()) child.kill("SIGKILL")
    rmSync(dir, { recursive: true, force: true })
  })

  it("the example typechecks on effect 4", () => {
    execFileSync(join(root, "node_modules", ".bin", "tsc"), ["-p", join(example, "tsconfig.json"), "--noEmit"], { stdio: "pipe" })
  }, 120_000)

  /** Sends one keyed action; resolves with its status and JSON body. */
  const sendKeyed = (url: string, key: string, sequence: number, action: object) =>
    fetch(`${url}/keys/${key}/actions/${sequence}`, { method: "POST", body: JSON.stringify(action) })
      .then(async (r) => ({ status: r.status, body: await r.json() }))

  describe.each(["node", "workerd"])("edge handler on effect 4, %s", (runtime) => {
    const url = () => servers.get(runtime)!.url

    it("healthz names the runtime", async () => {
      expect(await (await fetch(`${url()}/healthz`)).json()).toEqual({ status: "ok", runtime })
    })

    it("a batch of 100 actions with mixed latencies: results in input order, each key's order as if applied one by one", async () => {
      const batch = lifecycleBatch(`${runtime}-batch`, 20)
      const response = await fetch(`${url()}/actions`, { method: "POST", body: ndjson(batch.actions) })
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toBe("application/x-ndjson")
      const results = await readAll(response)
      expect(results.map((r) => r.index)).toEqual(batch.actions.map((_, i) => i))
      expect(results.map(outcome)).toEqual(batch.expected)
      expect(await (await fetch(`${url()}/orders/${batch.keys[0]}`)).json()).toMatchObject({ quantity: 5 })
    })

    it("a bad line rejects the batch before anything runs: 400 malformed, 422 invalid", async () => {
      const post = (body: string) => fetch(`${url()}/actions`, { method: "POST", body })
      expect((await post(`{"key":"${runtime}-bad","type":"cancel"}\n{`)).status).toBe(400)
      expect((await post(`{"key":"${runtime}-bad","type":"place"}`)).status).toBe(422)
      expect((await fetch(`${url()}/orders/${runtime}-bad`)).status).toBe(404)
    })

    it("keyed route: out-of-order sequences applied in order, a duplicate 409", async () => {
      const key = `${runtime}-keyed`
      const update = sendKeyed(url(), key, 1, { type: "update", payload: { quantity: 2 } })
      const placed = await sendKeyed(url(), key, 0, { type: "place", payload: { side: "buy", price: 1, quantity: 1 } })
      expect(placed).toMatchObject({ status: 200, body: { sequence: 0, ok: true, order: { quantity: 1 } } })
      expect(await update).toMatchObject({ status: 200, body: { sequence: 1, ok: true, order: { quantity: 2 } } })
      expect(await sendKeyed(url(), key, 1, { type: "cancel" })).toMatchObject({
        status: 409,
        body: { _tag: "DuplicateSequenceError", key, sequence: 1, next: 2 }
      })
    })

    it("keyed route: a gap answers 504 after the gap timeout, then the key goes on", async () => {
      const key = `${runtime}-gap`
      expect(await sendKeyed(url(), key, 1, { type: "place", payload: { side: "buy", price: 1, quantity: 1 } }))
        .toMatchObject({ status: 504, body: { key, sequence: 1, missing: { from: 0, to: 0 } } })
      expect(await sendKeyed(url(), key, 2, { type: "place", payload: { side: "buy", price: 1, quantity: 4 } }))
        .toMatchObject({ status: 200, body: { sequence: 2, ok: true, order: { quantity: 4 } } })
    })
  })
})
