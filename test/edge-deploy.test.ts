/**
 * The deploy matrix's `deno serve` rows (examples/edge/README.md): one isolate
 * serves the example; `--parallel`, which would split the book and the
 * Sequencer across isolates, is refused at start-up with the reason. (The
 * single-process and workerd rows are test/edge-runtimes.test.ts.)
 */
import { afterEach, describe, expect, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { join } from "node:path"
import { freePort, root } from "./edge/launch.ts"

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
