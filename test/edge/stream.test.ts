/**
 * How `POST /actions` streams, through the web handler in process: the
 * `?progress=true` lines the demo page draws the batch from (which action
 * finishes when is fixed by `Deferred` gates, not by timings), and results
 * released by timers that fire together leaving together.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import { makeWebHandler } from "../../examples/edge/app.ts"
import type { Action } from "../../examples/edge/domain.ts"
import { lines, ndjson, readAll, testConfig } from "./harness.ts"

/** `held` finishes when the test opens its gate; every other action at once. */
const gate = Effect.runSync(Deferred.make<void>())
const step = (action: Action) => action.key === "held" ? Deferred.await(gate) : Effect.void

const { dispose, handler } = makeWebHandler(testConfig, { step })
afterAll(dispose)

const post = (query: string, actions: ReadonlyArray<unknown>) =>
  handler(new Request(`http://edge.test/actions${query}`, { method: "POST", body: ndjson(actions) }))

const cancels = (keys: ReadonlyArray<string>) => keys.map((key) => ({ key, type: "cancel" }))

describe("edge handler: POST /actions?progress=true", () => {
  it("says when each action starts and finishes, before its result waits for the ones above it", async () => {
    const response = await post("?progress=true", cancels(["held", "after-0", "after-1"]))
    expect(response.status).toBe(200)
    const seen: Array<any> = []
    const stream = lines(response.body!)
    // both later actions finish while `held` runs: their results must wait, their progress need not
    while (seen.filter((line) => line.progress === "finished").length < 2) seen.push((await stream.next()).value)
    expect(seen.filter((line) => line.progress === undefined)).toEqual([])
    expect(seen.filter((line) => line.progress === "started").map((line) => line.index).sort()).toEqual([0, 1, 2])
    expect(seen.filter((line) => line.progress === "finished")).toEqual([
      expect.objectContaining({ index: 1 }),
      expect.objectContaining({ index: 2 })
    ])
    await Effect.runPromise(Deferred.succeed(gate, undefined))
    for (let next = await stream.next(); !next.done; next = await stream.next()) seen.push(next.value)
    const results = seen.filter((line) => line.progress === undefined)
    expect(results.map((line) => [line.index, line.finished])).toEqual([[0, 3], [1, 1], [2, 2]])
    // each action's lines come in the order started, finished (if sent), result
    for (const index of [0, 1, 2]) {
      const kinds = seen.filter((line) => line.index === index).map((line) => line.progress ?? "result")
      expect(kinds.slice(0, 1)).toEqual(["started"])
      expect(kinds.at(-1)).toBe("result")
    }
  })

  it("sends result lines only without it", async () => {
    const results = await readAll(await post("", cancels(["plain-0", "plain-1"])))
    expect(results.map((line) => Object.keys(line).includes("progress"))).toEqual([false, false])
    expect(results.map((line) => line.index)).toEqual([0, 1])
  })

  it("rejects a progress value other than true or false with 400, naming the parameter", async () => {
    const response = await post("?progress=yes", cancels(["bad-progress"]))
    expect(response.status).toBe(400)
    expect(await response.json()).toEqual({
      error: `Expected query parameter progress to be "true" or "false", got "yes"`,
      parameter: "progress"
    })
  })
})

describe("edge handler: POST /actions writes", () => {
  it("sends the results of steps whose timers fire together in one piece, not one piece each", async () => {
    // 100 steps of 5 ms started together (concurrency 100): their timers expire in the same turn
    const sleeping = makeWebHandler({ ...testConfig, concurrency: 100, latencyMs: 5 })
    try {
      const actions = cancels(Array.from({ length: 100 }, (_, i) => `together-${i}`))
      const response = await sleeping.handler(
        new Request("http://edge.test/actions", { method: "POST", body: ndjson(actions) })
      )
      const reader = response.body!.getReader()
      const pieces: Array<string> = []
      const decoder = new TextDecoder()
      for (let read = await reader.read(); !read.done; read = await reader.read()) pieces.push(decoder.decode(read.value))
      const indices = pieces.join("").trim().split("\n").map((line) => JSON.parse(line).index)
      expect(indices).toEqual(actions.map((_, i) => i))
      // one piece per action without the wait for the next timer tick; a handful with it
      expect(pieces.length).toBeLessThanOrEqual(10)
    } finally {
      await sleeping.dispose()
    }
  })
})
