/**
 * A keyed burst against the Node server at its default settings: 20 keys ×
 * 50 client-numbered actions, shuffled, 120 duplicates, sequence 20 never
 * sent on 5 keys, all in flight at once (test/edge/burst.ts); before late
 * values held the gap clock, this burst lost actions on a busy machine.
 * Late actions must not become lost ones: every sent action is applied once
 * and in sequence, duplicates get 409, and only the 5 real gaps get 504.
 * The larger bursts of issue #23 (40 × 100, 100 × 100) are rows of
 * `npm run bench:http`: at those sizes the defaults do not yet hold on every
 * runtime (examples/edge/README.md, Sizing).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { defaultBurst, expectedApplied, runBurst } from "./burst.ts"
import { type RunningServer, startServer } from "./launch.ts"

let server: RunningServer

beforeAll(async () => {
  // No limits from the test harness: the example's defaults.
  server = await startServer("node")
}, 60_000)

afterAll(() => server?.stop())

describe("edge keyed burst at default settings", () => {
  it("node: 20 keys × 50 actions, shuffled, duplicates and 5 gaps: all applied once, 409 for duplicates, 504 only for the gaps", async () => {
    const spec = { ...defaultBurst(20, 50), gapKeys: 5 }
    const prefix = `burst-${Date.now()}`
    const result = await runBurst(server.url, spec, prefix)
    expect(result.unexpected).toEqual([])
    expect(result.statuses).toEqual({
      200: expectedApplied(spec),
      409: spec.keys * spec.duplicatesPerKey,
      504: spec.gapKeys
    })
    expect(result.applied).toBe(expectedApplied(spec))
    // every update found its order (an action applied out of sequence would fail) and the last cancel closed it
    for (const key of [0, spec.gapKeys].map((k) => `${prefix}-${k}`)) {
      expect((await fetch(`${server.url}/orders/${key}`)).status).toBe(404)
    }
  }, 240_000)
})
