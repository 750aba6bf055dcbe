/**
 * Keyed bursts against the Node server at its default settings: keys ×
 * actions client-numbered actions, shuffled, 6 duplicates a key, sequence 20
 * never sent on some keys, all in flight at once (test/edge/burst.ts). Late
 * actions must not become lost ones: every sent action is applied once and
 * in sequence, duplicates get 409, and only the real gaps get 504. The
 * 40 × 100 burst collapsed before the input backlog held the gap clocks
 * (1,373 of 3,980 applied); on workerd (about 70 s on the loaded test
 * machine) and Node 100 × 100 it is a row of `npm run bench:http`
 * (examples/edge/README.md, Sizing for bursts). Counts only: no wall time.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { type BurstSpec, defaultBurst, expectedApplied, runBurst } from "./burst.ts"
import { type RunningServer, startServer } from "./launch.ts"

let server: RunningServer

beforeAll(async () => {
  // No limits from the test harness: the example's defaults.
  server = await startServer("node")
}, 60_000)

afterAll(() => server?.stop())

const expectExact = async (spec: BurstSpec) => {
  const prefix = `burst-${spec.keys}-${Date.now()}`
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
}

describe("edge keyed burst at default settings", () => {
  it("node: 20 keys × 50 actions, shuffled, duplicates and 5 gaps: all applied once, 409 for duplicates, 504 only for the gaps", () =>
    expectExact({ ...defaultBurst(20, 50), gapKeys: 5 }), 240_000)

  it("node: 40 keys × 100 actions (4,230 requests at once), 240 duplicates and 10 gaps: all applied once, 409 for duplicates, 504 only for the gaps", () =>
    expectExact(defaultBurst(40)), 400_000)
})
