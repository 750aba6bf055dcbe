import { describe, expect, it } from "@effect/vitest"
import { Cause, Clock, Effect, Exit, Stream } from "effect"
import { Sequencer } from "../../src/index.ts"
import { runVirtual } from "../../src/internal/virtualTime.ts"
import { catchAll, fc, fork, yieldNow, outcome } from "../utils/line.ts"

/**
 * Properties over random arrival orders with duplicates, losses and delays,
 * run in virtual time (deterministic and fast): per key, released sequences
 * strictly increase and, with the gaps, cover every sequence exactly once;
 * every accepted value is released exactly once, with the value first
 * accepted; every refusal is justified; no key waits for a value it holds;
 * memory stays within capacity × keys.
 */

interface Arrival {
  readonly key: number
  readonly sequence: number
  /** Virtual milliseconds to wait before offering. */
  readonly delay: number
}

interface Observed {
  readonly event: Sequencer.Event<string>
  readonly at: number
}

interface Outcome {
  readonly arrival: Arrival
  readonly id: string
  readonly at: number
  readonly result: "accepted" | Sequencer.OfferError["_tag"]
  /** The key's next expected sequence right after the offer. */
  readonly next: number
  /** Events the sequencer had emitted when the offer was answered: those observed, and those not read yet. */
  readonly emittedBefore: number
  /** Values of the key accepted and not yet taken by the consumer, right after the offer. */
  readonly held: number
}

interface Scenario {
  readonly keys: number
  readonly capacity: number
  readonly gapTimeout: number | undefined
  readonly onGap: "skip" | "fail"
  readonly arrivals: ReadonlyArray<Arrival>
  /** Offers refused as out of window go to the back of the queue (a retrying client). */
  readonly retry: boolean
  /** The consumer gets a chance to run every `lag` offers (or when an offer suspends). */
  readonly lag: number
}

const run = (scenario: Scenario) => {
  const observed: Array<Observed> = []
  const outcomes: Array<Outcome> = []
  let failure: { readonly error: Sequencer.SequenceGapError; readonly at: number } | undefined
  let peakHeld = 0
  const program = Effect.scoped(Effect.gen(function*() {
    const sequencer = yield* Sequencer.make<string>({
      capacity: scenario.capacity,
      ...(scenario.gapTimeout === undefined ? {} : { gapTimeout: scenario.gapTimeout, onGap: scenario.onGap })
    })
    yield* fork(
      Stream.runForEach(sequencer.stream, (event) =>
        Effect.map(Clock.currentTimeMillis, (at) => {
          observed.push({ event, at })
        })).pipe(catchAll((error) =>
          Effect.map(Clock.currentTimeMillis, (at) => {
            failure = { error, at }
          })
        ))
    )
    const queue = [...scenario.arrivals]
    let retries = 0
    for (let i = 0; i < queue.length; i++) {
      const arrival = queue[i]
      if (arrival.delay > 0) yield* Effect.sleep(arrival.delay)
      const id = `#${i}`
      const result = yield* outcome(sequencer.offer(arrival.key, arrival.sequence, id))
      if (i % scenario.lag === 0) yield* yieldNow
      const stats = yield* sequencer.stats
      // A gap given up on at the moment of the offer may not have reached the consumer yet.
      const emittedBefore = observed.length + stats.unread
      peakHeld = Math.max(peakHeld, stats.buffered + stats.unread)
      outcomes.push({
        arrival,
        id,
        at: yield* Clock.currentTimeMillis,
        result: result.ok ? "accepted" : result.error._tag,
        next: yield* sequencer.next(arrival.key),
        emittedBefore,
        held: outcomes.filter((o) => o.result === "accepted" && o.arrival.key === arrival.key).length +
          (result.ok ? 1 : 0) -
          observed.filter(({ event }) => event._tag === "Released" && event.key === arrival.key).length
      })
      if (scenario.retry && !result.ok && result.error._tag === "SequenceOutOfWindowError") {
        if (++retries > 10_000) throw new Error("no progress")
        queue.push({ ...arrival, delay: 0 })
      }
    }
    // Long enough for every gap timeout to fire.
    yield* Effect.sleep(10 * (scenario.gapTimeout ?? 0) + 1)
    const nexts = yield* Effect.forEach(
      Array.from({ length: scenario.keys }, (_, key) => key),
      (key) => sequencer.next(key)
    )
    return nexts
  }))
  const { exit } = runVirtual(program)
  if (Exit.isFailure(exit)) throw Cause.squash(exit.cause)
  return { observed, outcomes, nexts: exit.value, peakHeld, failure }
}

const check = (scenario: Scenario) => {
  const { failure, nexts, observed, outcomes, peakHeld } = run(scenario)
  expect(peakHeld).toBeLessThanOrEqual(scenario.capacity * scenario.keys)
  for (const o of outcomes) expect(o.held).toBeLessThanOrEqual(scenario.capacity)

  // Per key, events tile [0, next) in order: strictly increasing, no overlap, no hole.
  const perKey = new Map<number, Array<Observed>>()
  for (const o of observed) {
    const key = o.event.key as number
    if (!perKey.has(key)) perKey.set(key, [])
    perKey.get(key)!.push(o)
  }
  for (let key = 0; key < scenario.keys; key++) {
    let expected = 0
    for (const { event } of perKey.get(key) ?? []) {
      const from = event._tag === "Released" ? event.sequence : event.from
      const to = event._tag === "Released" ? event.sequence : event.to
      expect(from).toBe(expected)
      expect(to).toBeGreaterThanOrEqual(from)
      expected = to + 1
    }
    expect(nexts[key]).toBe(expected)
  }

  // Every accepted value is released exactly once (unless a failure dropped it), and the released
  // value is the accepted one.
  const accepted = outcomes.filter((o) => o.result === "accepted")
  const releasedIds = observed.flatMap((o) => o.event._tag === "Released" ? [o.event.value] : [])
  expect(new Set(releasedIds).size).toBe(releasedIds.length)
  if (failure === undefined) {
    expect([...releasedIds].sort()).toEqual(accepted.map((o) => o.id).sort())
  } else {
    const acceptedIds = new Set(accepted.map((o) => o.id))
    expect(releasedIds.every((id) => acceptedIds.has(id))).toBe(true)
  }
  const acceptedKeys = new Set(accepted.map((o) => `${o.arrival.key}:${o.arrival.sequence}`))
  expect(acceptedKeys.size).toBe(accepted.length)

  // Every refusal is justified by what happened before it.
  const gapsBefore = (n: number, key: number, sequence: number) =>
    observed.slice(0, n).some(({ event }) =>
      event._tag === "Gap" && event.key === key && event.from <= sequence && sequence <= event.to
    )
  outcomes.forEach((o, i) => {
    const { key, sequence } = o.arrival
    if (o.result === "DuplicateSequenceError") {
      const earlier = outcomes.slice(0, i).some((p) =>
        p.result === "accepted" && p.arrival.key === key && p.arrival.sequence === sequence
      )
      expect(earlier || gapsBefore(o.emittedBefore, key, sequence)).toBe(true)
    } else if (o.result === "SequenceOutOfWindowError") {
      expect(sequence).toBeGreaterThanOrEqual(o.next + scenario.capacity)
    } else if (o.result === "SequencerClosedError") {
      expect(failure !== undefined && o.at >= failure.at).toBe(true)
    } else {
      expect(o.result).toBe("accepted")
    }
    // Once the stream failed, nothing is accepted any more.
    if (failure !== undefined && o.at > failure.at) expect(o.result).toBe("SequencerClosedError")
  })

  // No key waits for a value it holds: its next expected sequence is never accepted and unreleased.
  outcomes.forEach((o, i) => {
    if (failure !== undefined && o.at >= failure.at) return
    const held = outcomes.slice(0, i + 1).some((p) =>
      p.result === "accepted" && p.arrival.key === o.arrival.key && p.arrival.sequence === o.next
    )
    expect(held).toBe(false)
  })

  // A gap is given up on only after a later value of its key waited gapTimeout.
  for (const { at, event } of observed) {
    if (event._tag !== "Gap") continue
    expect(scenario.gapTimeout).toBeDefined()
    const waitedLongEnough = accepted.some((o) =>
      o.arrival.key === event.key && o.arrival.sequence > event.to && o.at + scenario.gapTimeout! <= at
    )
    expect(waitedLongEnough).toBe(true)
  }
  // onGap "fail": no Gap event; the failure names the first hole of its key, which nothing filled,
  // right behind an accepted value, after a value behind it waited gapTimeout.
  if (scenario.onGap === "fail") {
    expect(observed.every(({ event }) => Sequencer.isReleased(event))).toBe(true)
  } else {
    expect(failure).toBeUndefined()
  }
  if (failure !== undefined) {
    const { at, error } = failure
    const before = accepted.filter((o) => o.arrival.key === error.key && o.at <= at)
    expect(error.from).toBe(nexts[error.key as number])
    expect(error.to).toBeGreaterThanOrEqual(error.from)
    expect(before.some((o) => error.from <= o.arrival.sequence && o.arrival.sequence <= error.to)).toBe(false)
    expect(before.some((o) => o.arrival.sequence === error.to + 1)).toBe(true)
    expect(before.some((o) => o.arrival.sequence > error.to && o.at + scenario.gapTimeout! <= at)).toBe(true)
  }
  return { observed, outcomes }
}

/** Every sequence 0..n-1 of every key, plus duplicates, in a random order. */
const complete = fc.record({
  keys: fc.integer({ min: 1, max: 4 }),
  perKey: fc.integer({ min: 1, max: 20 }),
  capacity: fc.integer({ min: 1, max: 6 }),
  duplicates: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 15 }),
  seed: fc.array(fc.nat(), { minLength: 120, maxLength: 120 }),
  lag: fc.integer({ min: 1, max: 8 })
}).map(({ capacity, duplicates, keys, lag, perKey, seed }) => {
  const arrivals: Array<Arrival> = []
  for (let key = 0; key < keys; key++) {
    for (let sequence = 0; sequence < perKey; sequence++) arrivals.push({ key, sequence, delay: 0 })
  }
  for (const [k, s] of duplicates) arrivals.push({ key: k % keys, sequence: s % perKey, delay: 0 })
  // Fisher–Yates driven by the generated seed.
  for (let i = arrivals.length - 1; i > 0; i--) {
    const j = seed[i % seed.length] % (i + 1)
    ;[arrivals[i], arrivals[j]] = [arrivals[j], arrivals[i]]
  }
  return { keys, capacity, gapTimeout: undefined, onGap: "skip", arrivals, retry: true, lag } satisfies Scenario
})

/** Random arrivals with losses, duplicates, late values and delays, against a gap timeout. */
const lossy = fc.record({
  keys: fc.integer({ min: 1, max: 4 }),
  capacity: fc.integer({ min: 1, max: 8 }),
  gapTimeout: fc.integer({ min: 1, max: 500 }),
  onGap: fc.constantFrom("skip" as const, "fail" as const),
  lag: fc.integer({ min: 1, max: 8 }),
  arrivals: fc.array(
    fc.record({
      key: fc.nat({ max: 3 }),
      sequence: fc.nat({ max: 24 }),
      delay: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 300 }))
    }),
    { maxLength: 60 }
  )
}).map(({ arrivals, keys, ...rest }) => ({
  ...rest,
  keys,
  arrivals: arrivals.map((a) => ({ ...a, key: a.key % keys })),
  retry: false
} satisfies Scenario))

describe("Sequencer: properties", () => {
  it("every sequence arriving in any order, with duplicates, is released once, in order, without gaps", () => {
    fc.assert(
      fc.property(complete, (scenario) => {
        const { observed } = check(scenario)
        const perKey = scenario.arrivals.length === 0 ? 0 : Math.max(...scenario.arrivals.map((a) => a.sequence)) + 1
        expect(observed.every(({ event }) => Sequencer.isReleased(event))).toBe(true)
        expect(observed).toHaveLength(scenario.keys * perKey)
      }),
      { numRuns: 150 }
    )
  })

  it("with losses, late values and delays: gaps cover exactly what was given up on; accepted values are lost only to onGap: \"fail\"", () => {
    fc.assert(fc.property(lossy, (scenario) => void check(scenario)), { numRuns: 150 })
  })
})
