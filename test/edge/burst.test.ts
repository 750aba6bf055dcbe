/**
 * A keyed burst against the Node server at its default settings: 40 keys ×
 * 100 client-numbered actions, shuffled, 240 duplicates, sequence 20 never
 * sent on 10 keys, all in flight at once (test/edge/burst.ts). Late actions
 * must not become lost ones: every sent action is applied once and in
 * sequence, duplicates get 409, and only the 10 real gaps get 504.
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
  it("node: 40 keys × 100 actions, shuffled, duplicates and 10 gaps: all applied once, 409 for duplicates, 504 only for the gaps", async () => {
    const spec = defaultBurst(40)
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
