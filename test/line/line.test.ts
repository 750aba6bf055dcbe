import { describe, expect, inject, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as runtime from "../../src/internal/runtime.ts"
import { fork, line, TestClock } from "../utils/line.ts"

declare module "vitest" {
  export interface ProvidedContext {
    /** The Effect line this vitest project resolves `effect` to (vitest.config.ts). */
    readonly effectLine: 3 | 4
  }
}

describe("the Effect line under test", () => {
  it("the library and test/utils/line.ts detect the line this project resolves `effect` to", () => {
    expect([runtime.line, line]).toEqual([inject("effectLine"), inject("effectLine")])
  })

  it.effect("@effect/vitest and TestClock are that line's: adjusting the clock wakes a sleeping fiber", () =>
    Effect.gen(function*() {
      const fiber = yield* fork(Effect.as(Effect.sleep("1 hour"), "woke"))
      yield* TestClock.adjust("1 hour")
      expect(yield* Fiber.join(fiber)).toBe("woke")
    }))

  // The engine reads a fiber's private set of children to end what an action forked (runtime.endChildren).
  it.effect("fibers keep the set of running children the engine reads, and it holds a fiber forked until it ends", () =>
    Effect.gen(function*() {
      const parent = yield* fork(Effect.andThen(fork(Effect.sleep("1 hour")), Effect.never))
      yield* TestClock.adjust("1 minute")
      expect(runtime.keepsChildren(parent)).toBe(true)
      expect(runtime.keepsChildren({} as typeof parent)).toBe(false)
      const end = runtime.endChildren(parent)
      expect(end).toBeDefined()
      yield* end!
      expect(runtime.endChildren(parent)).toBeUndefined()
      yield* Fiber.interrupt(parent)
    }))
})
