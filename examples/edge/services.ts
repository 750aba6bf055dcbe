/**
 * Configuration and the services the routes share; they live as long as the
 * server (or the web handler), so state persists across requests.
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Ref from "effect/Ref"
import { Sequencer } from "../../src/index.ts"
import type { Action } from "./domain.ts"

export interface EdgeConfig {
  /** Reported by `GET /healthz`: which runtime serves the handler. */
  readonly runtime: string
  /** At most this many costly steps run at once, per batch and for the keyed route. */
  readonly concurrency: number
  /** `POST /actions`: reorder window; default `3 × concurrency`. */
  readonly window?: number | undefined
  /** Simulated cost of an action that carries no `latencyMs`, in milliseconds. */
  readonly latencyMs: number
  /** A body over this many bytes is rejected with 413. */
  readonly maxBodyBytes: number
  /** A `POST /actions` body with more actions than this is rejected with 413. */
  readonly maxActions: number
  /** `POST /keys/:key/actions/:sequence`: per key, how far ahead of the next expected sequence a request may be. */
  readonly sequencerCapacity: number
  /**
   * `POST /keys/:key/actions/:sequence`: how long an action waits for the
   * sequences before it once the server has caught up with its backlog, in
   * milliseconds (`Sequencer` `gapTimeout`).
   */
  readonly gapTimeoutMs: number
  /**
   * The longest an action waits for the sequences before it, however busy
   * the server, in milliseconds (`Sequencer` `maxGapWait`; absent: its
   * default, `10 × gapTimeoutMs`).
   */
  readonly maxGapWaitMs?: number | undefined
}

export const defaultConfig: EdgeConfig = {
  runtime: "unknown",
  concurrency: 16,
  latencyMs: 5,
  maxBodyBytes: 1024 * 1024,
  maxActions: 1000,
  sequencerCapacity: 1024,
  gapTimeoutMs: 2000,
  maxGapWaitMs: 300_000
}

/** The integer in `env[name]`, `undefined` when unset or empty; throws (stopping the server at startup) when below `min` or not an integer. */
export const envInteger = (
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  min: number
): number | undefined => {
  const raw = env[name]
  if (raw === undefined || raw === "") return undefined
  const value = Number(raw)
  if (!Number.isSafeInteger(value) || value < min) {
    throw new Error(`Expected env ${name} to be an integer ≥ ${min}, got ${JSON.stringify(raw)}`)
  }
  return value
}

/**
 * Reads the configuration from environment variables (`CONCURRENCY`,
 * `WINDOW`, `LATENCY_MS`, `MAX_BODY_BYTES`, `MAX_ACTIONS`,
 * `SEQUENCER_CAPACITY`, `GAP_TIMEOUT_MS`, `MAX_GAP_WAIT_MS`); an unset variable keeps its
 * default, a malformed one stops the server at startup.
 */
export const configFromEnv = (runtime: string, env: Readonly<Record<string, string | undefined>>): EdgeConfig => {
  const int = (name: string, min: number) => envInteger(env, name, min)
  const concurrency = int("CONCURRENCY", 1) ?? defaultConfig.concurrency
  const gapTimeoutMs = int("GAP_TIMEOUT_MS", 1) ?? defaultConfig.gapTimeoutMs
  return {
    runtime,
    concurrency,
    // Ordered refuses a window below concurrency: refuse it here, at startup, not on every request.
    window: int("WINDOW", concurrency),
    latencyMs: int("LATENCY_MS", 0) ?? defaultConfig.latencyMs,
    maxBodyBytes: int("MAX_BODY_BYTES", 1) ?? defaultConfig.maxBodyBytes,
    maxActions: int("MAX_ACTIONS", 1) ?? defaultConfig.maxActions,
    sequencerCapacity: int("SEQUENCER_CAPACITY", 1) ?? defaultConfig.sequencerCapacity,
    gapTimeoutMs,
    // Sequencer refuses a maxGapWait below gapTimeout: refuse it here, at startup.
    maxGapWaitMs: int("MAX_GAP_WAIT_MS", gapTimeoutMs) ?? Math.max(gapTimeoutMs, defaultConfig.maxGapWaitMs ?? 0)
  }
}

export class Config extends Context.Tag("effect-ordered/examples/edge/Config")<Config, EdgeConfig>() {}

/**
 * What the keyed route's sequencer sees of the server's input backlog: held
 * while requests are accepted but not yet offered (by the request itself,
 * and on Node from the moment the connection is accepted), so that no gap is
 * given up while the missing action may still be among them.
 */
export class InputBacklog extends Context.Tag("effect-ordered/examples/edge/InputBacklog")<InputBacklog, Sequencer.Backlog>() {}

/**
 * The costly step every action goes through before it is applied
 * (validation, enrichment, a call to a pricing service…). Simulated by
 * sleeping; tests swap in their own.
 */
export class CostlyStep extends Context.Tag("effect-ordered/examples/edge/CostlyStep")<
  CostlyStep,
  (action: Action, index: number) => Effect.Effect<void>
>() {}

/** Sleeps `action.latencyMs`, or the configured default (0: no cost at all, not even a timer). */
export const sleepingStep = (config: EdgeConfig) => (action: Action): Effect.Effect<void> => {
  const millis = action.latencyMs ?? config.latencyMs
  return millis === 0 ? Effect.void : Effect.sleep(Duration.millis(millis))
}

/** Counts costly steps by outcome; `GET /healthz` reports them. */
export class Stats extends Effect.Service<Stats>()("effect-ordered/examples/edge/Stats", {
  effect: Effect.gen(function*() {
    const started = yield* Ref.make(0)
    const finished = yield* Ref.make(0)
    const interrupted = yield* Ref.make(0)
    const bump = (ref: Ref.Ref<number>) => Ref.update(ref, (n) => n + 1)
    /** Runs `effect` counted: started, then finished or interrupted. */
    const track = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      Effect.uninterruptibleMask((restore) =>
        bump(started).pipe(
          Effect.zipRight(restore(effect)),
          Effect.onExit((exit) => bump(Exit.isInterrupted(exit) ? interrupted : finished))
        )
      )
    const snapshot = Effect.all({ started, finished, interrupted }).pipe(
      Effect.map((s) => ({ ...s, inFlight: s.started - s.finished - s.interrupted }))
    )
    return { track, snapshot } as const
  })
}) {}
