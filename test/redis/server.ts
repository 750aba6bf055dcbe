/**
 * A real `redis-server` for the tests and the benchmark: a free loopback
 * port, a temporary directory, no persistence unless asked (the restart test
 * needs an append-only file to find its streams again).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

export interface RedisServer {
  readonly port: number
  readonly url: string
  /** Kills the server (SIGKILL) and starts it again on the same port and directory. */
  readonly restart: () => Promise<void>
  readonly stop: () => Promise<void>
}

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once("exit", () => resolve()))

const launch = (port: number, dir: string, persistent: boolean): Promise<ChildProcess> => {
  const persistence = persistent
    ? ["--appendonly", "yes", "--appendfsync", "always", "--save", ""]
    : ["--appendonly", "no", "--save", ""]
  const child = spawn("redis-server", [
    "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--daemonize", "no", ...persistence
  ], { stdio: ["ignore", "pipe", "pipe"] })
  return new Promise((resolve, reject) => {
    let output = ""
    // Bounded: a server that is not ready in 20 s is a broken environment.
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 20_000)
    child.stdout!.on("data", (data: Buffer) => {
      output += data.toString()
      if (output.includes("Ready to accept connections")) {
        clearTimeout(timer)
        resolve(child)
      }
    })
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`redis-server exited with ${code}:\n${output}`))
    })
  })
}

export const startRedis = async (options: { readonly persistent?: boolean } = {}): Promise<RedisServer> => {
  const dir = mkdtempSync(join(tmpdir(), "effect-ordered-redis-"))
  const port = await freePort()
  const persistent = options.persistent ?? false
  let child = await launch(port, dir, persistent)
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    restart: async () => {
      child.kill("SIGKILL")
      await exited(child)
      child = await launch(port, dir, persistent)
    },
    stop: async () => {
      child.kill("SIGKILL")
      await exited(child)
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

// Kafka's tests and benchmark import it from here; the one helper is test/utils/waitFor.ts.
export { waitFor } from "../utils/waitFor.ts"
