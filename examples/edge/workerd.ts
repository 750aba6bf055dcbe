/**
 * `npm run serve:workerd`: serves `worker.ts` on the real workerd binary (npm
 * package `workerd`). Bundles the worker with esbuild, writes a workerd
 * config into a temporary directory and runs `workerd serve` on it until
 * stopped.
 *
 * Environment: `HOST` (default 127.0.0.1) and `PORT` (default 8787) for the
 * socket; `CONCURRENCY`, `WINDOW`, `LATENCY_MS`, `SEQUENCER_CAPACITY`,
 * `GAP_TIMEOUT_MS`, `MAX_GAP_WAIT_MS`, `MAX_BODY_BYTES`, `MAX_ACTIONS` become text bindings, read
 * by `configFromEnv` as on the other servers (a malformed one is refused here,
 * before workerd starts). The Durable Objects' storage is in memory (it lasts
 * as long as the process), or on disk under `STORAGE_DIR` when that is set
 * (it survives restarts).
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { build } from "esbuild"
import { configFromEnv } from "./services.ts"

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, "..", "..")

/** The variables passed to the worker as bindings. */
const variables = [
  "CONCURRENCY",
  "WINDOW",
  "LATENCY_MS",
  "SEQUENCER_CAPACITY",
  "GAP_TIMEOUT_MS",
  "MAX_GAP_WAIT_MS",
  "MAX_BODY_BYTES",
  "MAX_ACTIONS"
] as const

/** `request.signal` fires when the client goes away (see the README's deploy matrix). */
export const compatibilityFlags = ["enable_request_signal"]

/**
 * The capnp config: one worker service, its Durable Object namespace with
 * storage in memory or in `storageDir`, one HTTP socket.
 */
export const workerdConfig = (
  address: string,
  bindings: Readonly<Record<string, string>>,
  storageDir: string | undefined
): string => `
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    ${storageDir === undefined ? "" : `(name = "storage", disk = (path = ${JSON.stringify(storageDir)}, writable = true)),`}
  ],
  sockets = [(name = "http", address = ${JSON.stringify(address)}, http = (), service = "main")]
);

const worker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "2026-11-01",
  compatibilityFlags = ${JSON.stringify(compatibilityFlags)},
  durableObjectNamespaces = [(className = "KeyObject", uniqueKey = "effect-ordered-edge-keys")],
  durableObjectStorage = ${storageDir === undefined ? "(inMemory = void)" : `(localDisk = "storage")`},
  bindings = [
    (name = "KEYS", durableObjectNamespace = "KeyObject"),
${Object.entries(bindings).map(([name, value]) => `    (name = ${JSON.stringify(name)}, text = ${JSON.stringify(value)})`).join(",\n")}
  ]
);
`

// Fail here, with the other servers' message, rather than on the first request.
configFromEnv("workerd", process.env)
const bindings = Object.fromEntries(
  variables.flatMap((name) => process.env[name] === undefined ? [] : [[name, process.env[name]!]])
)
const host = process.env.HOST ?? "127.0.0.1"
const port = Number(process.env.PORT ?? 8787)

const dir = mkdtempSync(join(tmpdir(), "edge-workerd-"))
const cleanUp = () => rmSync(dir, { recursive: true, force: true })
await build({
  entryPoints: [join(here, "worker.ts")],
  outfile: join(dir, "worker.js"),
  bundle: true,
  format: "esm",
  platform: "neutral",
  conditions: ["workerd", "worker", "browser"],
  mainFields: ["module", "main"],
  logLevel: "warning"
})
const storageDir = process.env.STORAGE_DIR === undefined ? undefined : resolve(process.env.STORAGE_DIR)
writeFileSync(join(dir, "config.capnp"), workerdConfig(`${host}:${port}`, bindings, storageDir))

const workerd = spawn(join(root, "node_modules", ".bin", "workerd"), ["serve", join(dir, "config.capnp")], {
  stdio: "inherit"
})
console.log(`Listening on http://${host}:${port} (workerd)`)
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => workerd.kill(signal))
workerd.on("exit", (code, signal) => {
  cleanUp()
  process.exit(code ?? (signal === null ? 0 : 1))
})
