/**
 * The deploy matrix (examples/edge/README.md) beyond test/edge/runtimes.test.ts:
 * `deno serve` with one isolate serves the example, `--parallel` (which would
 * split the book and the Sequencer across isolates) is refused at start-up
 * with the reason; on workerd with on-disk storage, each key's order and next
 * sequence survive a restart of the process.
 */
import { afterEach, describe, expect, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startServer } from "./harness.ts"
import { freePort, root } from "./launch.ts"

const children: Array<ChildProcess> = []
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL")
})

const denoServe = async (...flags: Array<string>) => {
  const port = await freePort()
  const child = spawn(
    join(root, "node_modules", ".bin", "deno"),
    ["serve", "--allow-env", "--host", "127.0.0.1", "--port", String(port), ...flags, "examples/edge/deno-serve.ts"],
    // two isolates for --parallel whatever the machine's core count
    { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, DENO_JOBS: "2", NO_COLOR: "1" } }
  )
  children.push(child)
  let output = ""
  child.stdout!.on("data", (data) => output += data)
  child.stderr!.on("data", (data) => output += data)
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  return { url: `http://127.0.0.1:${port}`, exited, output: () => output }
}

describe("deno serve", () => {
  it("one isolate serves the example", async () => {
    const server = await denoServe()
    let health: any
    for (let attempt = 0; attempt < 300 && health === undefined; attempt++) {
      health = await fetch(`${server.url}/healthz`).then((r) => r.json(), () => undefined)
      if (health === undefined) await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(health, server.output()).toMatchObject({ status: "ok", runtime: "deno" })
  })

  it("--parallel is refused at start-up, saying why", async () => {
    const server = await denoServe("--parallel")
    expect(await server.exited).toBe(1)
    expect(server.output()).toMatch(/deno serve --parallel splits the order book and the Sequencer across isolates.*refusing/)
  })
})

describe("workerd with STORAGE_DIR", () => {
  it("a restart keeps each key's order and next sequence: spent sequences stay refused, the key goes on", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edge-workerd-storage-"))
    const keyed = (url: string, sequence: number, action: object) =>
      fetch(`${url}/keys/kept/actions/${sequence}`, { method: "POST", body: JSON.stringify(action) })
        .then(async (r) => ({ status: r.status, body: await r.json() }))
    try {
      const first = await startServer("workerd", { STORAGE_DIR: dir })
      try {
        expect(await keyed(first.url, 0, { type: "place", payload: { side: "buy", price: 1, quantity: 1 } }))
          .toMatchObject({ status: 200 })
        expect(await keyed(first.url, 1, { type: "update", payload: { quantity: 2 } })).toMatchObject({ status: 200 })
      } finally {
        first.stop() // SIGKILL: nothing is flushed on the way out
      }
      const second = await startServer("workerd", { STORAGE_DIR: dir })
      try {
        expect(await (await fetch(`${second.url}/orders/kept`)).json()).toMatchObject({ quantity: 2 })
        expect(await keyed(second.url, 1, { type: "update", payload: { quantity: 9 } })).toMatchObject({
          status: 409,
          body: { _tag: "DuplicateSequenceError", sequence: 1, next: 2 }
        })
        expect(await keyed(second.url, 2, { type: "cancel" })).toMatchObject({
          status: 200,
          body: { ok: true, order: { quantity: 2 } }
        })
      } finally {
        second.stop()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
