import * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import type { Checkpoint } from "../Checkpoint.ts"
import { CheckpointDecodeError } from "../errors.ts"
import * as V from "./validate.ts"

/**
 * A checkpoint is `committed` plus the completed offsets above it as a
 * sorted array. Completions arrive roughly in order and at most a window
 * apart, so the array stays short and a copy per completion is cheaper than
 * a tree.
 *
 * @internal
 */

const make_ = (committed: number, above: ReadonlyArray<number>): Checkpoint => Object.freeze({ committed, above })

/** @internal */
export const make = (start: number = 0): Checkpoint =>
  make_(V.integerAtLeast("start", start, 0) - 1, [])

/** Index of the first element ≥ `offset` in the sorted `above`. */
const lowerBound = (above: ReadonlyArray<number>, offset: number): number => {
  let lo = 0
  let hi = above.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (above[mid] < offset) lo = mid + 1
    else hi = mid
  }
  return lo
}

const offset = (value: unknown): number => {
  if (V.isInteger(value)) return value
  throw V.invalid("offset", "a safe integer", value)
}

/** @internal */
export const complete = dual<
  (offset: number) => (self: Checkpoint) => Checkpoint,
  (self: Checkpoint, offset: number) => Checkpoint
>(2, (self: Checkpoint, value: number): Checkpoint => {
  const done = offset(value)
  if (done <= self.committed) return self
  const above = self.above
  if (done === self.committed + 1) {
    let committed = done
    let i = 0
    while (i < above.length && above[i] === committed + 1) {
      committed++
      i++
    }
    return make_(committed, above.slice(i))
  }
  const at = lowerBound(above, done)
  if (above[at] === done) return self
  const next = above.slice()
  next.splice(at, 0, done)
  return make_(self.committed, next)
})

/** @internal */
export const isCompleted = dual<
  (offset: number) => (self: Checkpoint) => boolean,
  (self: Checkpoint, offset: number) => boolean
>(2, (self: Checkpoint, value: number): boolean => {
  const done = offset(value)
  return done <= self.committed || self.above[lowerBound(self.above, done)] === done
})

// Bit `i` of the bitset (byte `i >> 3`, least significant bit first) stands
// for offset `committed + 2 + i`: `committed + 1` is by definition not
// completed, so the bitset starts right after it.

const toBase64Url = (bytes: Uint8Array): string => {
  let binary = ""
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i])
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")
}

const fromBase64Url = (text: string): Uint8Array | undefined => {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"))
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

/** The widest span `encode` writes: 2^28 offsets, a 32 MiB bitset (about 45 MB of text). */
const MAX_SPAN = 2 ** 28

/** @internal */
export const encode = (self: Checkpoint): string => {
  const above = self.above
  if (above.length === 0) return String(self.committed)
  const base = self.committed + 2
  const span = above[above.length - 1] - base + 1
  // One bit per offset of the span: refuse what no byte array can hold
  // (bit arithmetic below stays exact: spans are far under 2^31 bytes × 8).
  if (span > MAX_SPAN) {
    throw V.invalid("checkpoint.above", `within ${MAX_SPAN} offsets past the committed one (one bit each)`, span)
  }
  const bytes = new Uint8Array(Math.ceil(span / 8))
  for (let i = 0; i < above.length; i++) {
    const bit = above[i] - base
    bytes[Math.floor(bit / 8)] |= 1 << (bit % 8)
  }
  return `${self.committed}:${toBase64Url(bytes)}`
}

/** @internal */
export const decode = (encoded: string): Exit.Exit<Checkpoint, CheckpointDecodeError> => {
  const fail = (reason: string) => Exit.fail(new CheckpointDecodeError({ input: encoded, reason }))
  if (typeof encoded !== "string") return fail(`expected a string, got ${V.describe(encoded)}`)
  const colon = encoded.indexOf(":")
  const head = colon === -1 ? encoded : encoded.slice(0, colon)
  const committed = /^-?\d+$/.test(head) ? Number(head) : NaN
  if (!Number.isSafeInteger(committed)) return fail(`the committed offset ${JSON.stringify(head)} is not a safe integer`)
  // `make` starts at offset 0 or later, so nothing commits below -1.
  if (committed < -1) return fail(`the committed offset ${JSON.stringify(head)} is below -1`)
  const bytes = colon === -1 ? new Uint8Array(0) : fromBase64Url(encoded.slice(colon + 1))
  if (bytes === undefined) return fail("the bitset after `:` is not base64url")
  const above: Array<number> = []
  const base = committed + 2
  for (let byte = 0; byte < bytes.length; byte++) {
    for (let bit = 0; bit < 8; bit++) {
      if ((bytes[byte] & (1 << bit)) !== 0) above.push(base + byte * 8 + bit)
    }
  }
  if (above.length > 0 && !Number.isSafeInteger(above[above.length - 1])) return fail("an offset exceeds the safe integer range")
  // One checkpoint, one encoding: "007", "3:" or a bitset with trailing zero
  // bytes were not written by `encode` (a corrupted or foreign value).
  const checkpoint = make_(committed, above)
  const canonical = encode(checkpoint)
  if (canonical !== encoded) return fail(`not as \`encode\` writes it (${JSON.stringify(canonical)})`)
  return Exit.succeed(checkpoint)
}
