/**
 * Lost-session detection on refusals shaped exactly as KafkaJS builds them:
 * the protocol error from `createErrorFromCode`, wrapped by KafkaJS's own
 * retrier (once or nested), then by this package's `KafkaError`.
 */
import { describe, expect, it } from "@effect/vitest"
import { createRequire } from "node:module"
import { KafkaError } from "../../src/kafka/errors.ts"
import { isLostSession, protocolErrorType } from "../../src/kafka/internal/fence.ts"

const require = createRequire(import.meta.url)
const { createErrorFromCode, errorCodes } = require("kafkajs/src/protocol/error.js") as {
  readonly createErrorFromCode: (code: number) => Error
  readonly errorCodes: ReadonlyArray<{ readonly type: string; readonly code: number }>
}
const createRetry = require("kafkajs/src/retry/index.js") as (
  options: { readonly retries: number; readonly initialRetryTime: number }
) => <A>(fn: () => Promise<A>) => Promise<A>

const protocolError = (type: string): Error => createErrorFromCode(errorCodes.find((e) => e.type === type)!.code)

/** What a KafkaJS call that the broker refused with `type` rejects with, through `retriers` nested retriers. */
const refusal = async (type: string, retriers: number): Promise<unknown> => {
  let call = (): Promise<never> => Promise.reject(protocolError(type))
  for (let i = 0; i < retriers; i++) {
    const inner = call
    call = () => createRetry({ retries: 0, initialRetryTime: 1 })(inner)
  }
  return call().catch((error: unknown) => new KafkaError({ operation: "commit offsets", cause: error }))
}

describe("Kafka lost-session detection", () => {
  it("finds the protocol type under every wrapping KafkaJS does", async () => {
    for (const retriers of [0, 1, 2, 3]) {
      const error = await refusal("UNKNOWN_MEMBER_ID", retriers)
      expect(protocolErrorType(error)).toBe("UNKNOWN_MEMBER_ID")
    }
    // The shape of the log line: KafkaJSNonRetriableError, not retriable, the type one level below.
    const wrapped = (await refusal("ILLEGAL_GENERATION", 1) as KafkaError).cause as Error & { retriable: boolean }
    expect(wrapped.name).toBe("KafkaJSNonRetriableError")
    expect(wrapped.retriable).toBe(false)
    expect((wrapped as { type?: string }).type).toBeUndefined()
  })

  it("a gone member is a lost session, always; a gone generation only outside a rebalance this consumer knows of", async () => {
    for (const type of ["UNKNOWN_MEMBER_ID", "FENCED_INSTANCE_ID"]) {
      const error = await refusal(type, 2)
      expect(isLostSession(error, false)).toBe(true)
      expect(isLostSession(error, true)).toBe(true)
    }
    for (const type of ["ILLEGAL_GENERATION", "REBALANCE_IN_PROGRESS"]) {
      const error = await refusal(type, 2)
      expect(isLostSession(error, false)).toBe(true)
      expect(isLostSession(error, true)).toBe(false)
    }
  })

  it("other refusals and failures are not", async () => {
    expect(isLostSession(await refusal("NOT_COORDINATOR_FOR_GROUP", 2), false)).toBe(false)
    expect(isLostSession(await refusal("REQUEST_TIMED_OUT", 1), false)).toBe(false)
    expect(isLostSession(new KafkaError({ operation: "commit offsets", cause: new Error("Connection closed") }), false))
      .toBe(false)
    expect(isLostSession(undefined, false)).toBe(false)
    // A cycle of causes ends the walk.
    const cyclic: { cause?: unknown } = {}
    cyclic.cause = cyclic
    expect(protocolErrorType(cyclic)).toBeUndefined()
  })
})
