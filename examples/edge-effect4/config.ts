/** What `node.ts` and `worker.ts` share: the configuration from the environment, and a storage in memory. */
import type { Config } from "./app.ts"
import type { KeyConfig } from "./keys.ts"
import type { KeySequencer } from "effect-ordered/workers"

/** Reads `CONCURRENCY`, `LATENCY_MS`, `SEQUENCER_CAPACITY`, `GAP_TIMEOUT_MS` (integers; unset: the default). */
export const configFromEnv = (runtime: string, env: Readonly<Record<string, unknown>>): Config & KeyConfig => {
  const int = (name: string, fallback: number, min: number) => {
    const raw = env[name]
    if (raw === undefined || raw === "") return fallback
    const value = Number(raw)
    if (!Number.isSafeInteger(value) || value < min) {
      throw new Error(`Expected env ${name} to be an integer ≥ ${min}, got ${JSON.stringify(raw)}`)
    }
    return value
  }
  return {
    runtime,
    concurrency: int("CONCURRENCY", 16, 1),
    latencyMs: int("LATENCY_MS", 5, 0),
    capacity: int("SEQUENCER_CAPACITY", 1024, 1),
    gapTimeoutMs: int("GAP_TIMEOUT_MS", 2000, 1)
  }
}

/** A key's storage in this process's memory (a Durable Object's, on workerd). */
export const memoryStorage = (): KeySequencer.DurableObjectStorage => {
  const entries = new Map<string, unknown>()
  return {
    get: async <T>(key: string) => entries.get(key) as T | undefined,
    put: async (values) => {
      for (const [key, value] of Object.entries(values)) entries.set(key, value)
    }
  }
}
