/**
 * Starts one of the example's servers (Node, Deno, Bun or workerd) as a child process
 * on a free loopback port and waits until `GET /healthz` answers. Used by the
 * tests and the HTTP benchmark; the commands are those of the `serve*` scripts.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { createServer } from "node:net"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

/** The repository root: the nearest directory up from here holding package.json (also from a build/ copy). */
export const root: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir)
  return dir
})()

const bin = (name: string) => join(root, "node_modules", ".bin", name)

export type Runtime = "node" | "deno" | "bun" | "workerd"

export const serverCommands: Record<Runtime, ReadonlyArray<string>> = {
  node: [process.execPath, "--import", "tsx", "examples/edge/node.ts"],
  deno: [bin("deno"), "run", "--unstable-no-legacy-abort", "--allow-net", "--allow-env", "examples/edge/deno.ts"],
  bun: [bin("bun"), "examples/edge/bun.ts"],
  workerd: [process.execPath, "--import", "tsx", "examples/edge/workerd.ts"]
}

/** A free TCP port on loopback (released again just before the server takes it). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")))
    })
  })

export interface RunningServer {
  readonly runtime: Runtime
  readonly url: string
  /** Kills the server's process group. */
  readonly stop: () => void
}

/**
 * Starts `runtime`'s server with `env` (on top of this process's) and a free
 * `PORT`; polls `/healthz` every 100 ms, at most `attempts` times.
 */
export const startServer = async (
  runtime: Runtime,
  env: Record<string, string> = {},
  attempts = 300
): Promise<RunningServer> => {
  const port = await freePort()
  const [command, ...args] = serverCommands[runtime]
  const child: ChildProcess = spawn(command, args, {
    cwd: root,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env, PORT: String(port), NO_COLOR: "1" }
  })
  let output = ""
  child.stdout!.on("data", (data) => output += data)
  child.stderr!.on("data", (data) => output += data)
  const stop = () => {
    try {
      process.kill(-child.pid!, "SIGKILL")
    } catch {
      // already gone
    }
  }
  const url = `http://127.0.0.1:${port}`
  for (let attempt = 0; attempt < attempts && child.exitCode === null; attempt++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { runtime, url, stop }
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  stop()
  throw new Error(`${runtime} server did not become healthy on port ${port}:\n${output}`)
}
