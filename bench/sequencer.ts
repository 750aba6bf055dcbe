/**
 * `Sequencer` cost: offers/s through the sequencer with 10,000 keys whose 64
 * sequences arrive in a random order (capacity 64: all inside the window,
 * up to 63 buffered per key; real clock), and
 * the heap after 1,000,000 offers over keys that go idle and expire (virtual
 * time, so idle periods cost no wall time).
 *
 * Standalone: `node --expose-gc --import tsx bench/sequencer.ts`.
 */
import { Effect, Stream } from "effect"
import { pathToFileURL } from "node:url"
import { Sequencer } from "../src/index.ts"
import { mulberry32 } from "../src/internal/random.ts"
import { runVirtual } from "../src/internal/virtualTime.ts"
import { check, type Check, formatBytes, formatRate, gc, heapUsed, printChecks, printTable } from "./table.ts"

const CAPACITY = 64

interface Arrival {
  readonly key: number
  readonly sequence: number
}

/**
 * `perKey` sequences for each of `keys` keys, each key's shuffled inside
 * consecutive blocks of `CAPACITY` (so every arrival is inside the window when
 * it comes), keys interleaved round-robin: one arrival of every key, then the
 * next of every key, …. `shuffled: false` sends each key in order.
 */
const arrivals = (keys: number, perKey: number, shuffled: boolean): Array<Arrival> => {
  const random = mulberry32(42)
  const orders = Array.from({ length: keys }, () => {
    const order = Array.from({ length: perKey }, (_, i) => i)
    if (shuffled) {
      for (let block = 0; block < perKey; block += CAPACITY) {
        const end = Math.min(block + CAPACITY, perKey)
        for (let i = end - 1; i > block; i--) {
          const j = block + Math.floor(random() * (i - block + 1))
          ;[order[i], order[j]] = [order[j], order[i]]
        }
      }
    }
    return order
  })
  const out: Array<Arrival> = []
  for (let i = 0; i < perKey; i++) {
    for (let key = 0; key < keys; key++) out.push({ key, sequence: orders[key][i] })
  }
  return out
}

/** Offers every arrival from one fiber while another drains the stream; offers per second. */
const offerRate = async (input: ReadonlyArray<Arrival>): Promise<number> => {
  const program = Effect.scoped(Effect.gen(function*() {
    const sequencer = yield* Sequencer.make<number>({ capacity: CAPACITY })
    const consumer = yield* Effect.fork(Stream.runDrain(Stream.take(sequencer.stream, input.length)))
    const start = performance.now()
    for (const { key, sequence } of input) yield* sequencer.offer(key, sequence, sequence)
    yield* consumer.await
    return performance.now() - start
  }))
  const millis = await Effect.runPromise(program)
  return input.length / (millis / 1000)
}

/** Best of 3 after a warm-up on a tenth of the keys. */
const bestRate = async (keys: number, perKey: number, shuffled: boolean): Promise<number> => {
  await offerRate(arrivals(keys / 10, perKey, shuffled))
  const input = arrivals(keys, perKey, shuffled)
  let best = 0
  for (let i = 0; i < 3; i++) {
    gc()
    best = Math.max(best, await offerRate(input))
  }
  return best
}

/**
 * 1,000,000 offers over keys that each live for 5 offers (shuffled) and then
 * go quiet: 2,000 keys active at a time, 200,000 keys in all, 1 virtual ms
 * per 100 offers, so the run spans 10 virtual seconds. Heap after a full GC,
 * with the sequencer still open.
 */
const idleHeap = (idleKeyTimeout: number | undefined) => {
  const OFFERS = 1_000_000
  const PER_KEY = 5
  const ACTIVE = 2_000
  const random = mulberry32(7)
  gc()
  const baseline = heapUsed()
  let after = 0
  let keysAfter = 0
  const program = Effect.scoped(Effect.gen(function*() {
    const sequencer = yield* Sequencer.make<number>({
      capacity: CAPACITY,
      gapTimeout: "1 second",
      ...(idleKeyTimeout === undefined ? {} : { idleKeyTimeout })
    })
    yield* Effect.fork(Stream.runDrain(sequencer.stream))
    // Keys come in generations of ACTIVE; a generation sends its PER_KEY
    // sequences round-robin, each key's in a shuffled order.
    const generationSize = ACTIVE * PER_KEY
    for (let generation = 0; generation * generationSize < OFFERS; generation++) {
      const orders = Array.from({ length: ACTIVE }, () => {
        const order = Array.from({ length: PER_KEY }, (_, i) => i)
        for (let i = PER_KEY - 1; i > 0; i--) {
          const j = Math.floor(random() * (i + 1))
          ;[order[i], order[j]] = [order[j], order[i]]
        }
        return order
      })
      for (let i = 0; i < PER_KEY; i++) {
        for (let k = 0; k < ACTIVE; k++) {
          yield* sequencer.offer(generation * ACTIVE + k, orders[k][i], i)
          if ((generation * generationSize + i * ACTIVE + k) % 100 === 99) yield* Effect.sleep(1)
        }
      }
    }
    yield* Effect.sleep(1) // let the consumer take the last values
    gc()
    after = heapUsed()
    keysAfter = (yield* sequencer.stats).keys
  }))
  const { elapsedMillis } = runVirtual(program)
  return { offers: OFFERS, growth: after - baseline, keys: keysAfter, virtualSeconds: elapsedMillis / 1000 }
}

export const runSequencerBench = async (): Promise<ReadonlyArray<Check>> => {
  const KEYS = 10_000
  const PER_KEY = CAPACITY
  const inOrder = await bestRate(KEYS, PER_KEY, false)
  const shuffled = await bestRate(KEYS, PER_KEY, true)
  printTable(
    `Sequencer offers/s: ${KEYS.toLocaleString("en-US")} keys × ${PER_KEY} sequences, keys interleaved, capacity ${CAPACITY} (real clock; best of 3)`,
    ["arrival order per key", "offers/s"],
    [
      ["in order", formatRate(inOrder)],
      ["random permutation", formatRate(shuffled)]
    ]
  )
  const expiring = idleHeap(1000)
  const remembered = idleHeap(undefined)
  printTable(
    `Sequencer heap after ${expiring.offers.toLocaleString("en-US")} offers: 200,000 keys of 5 shuffled offers, 2,000 active at a time, over ${expiring.virtualSeconds} virtual s`,
    ["idleKeyTimeout", "keys remembered at the end", "heap growth (after GC)"],
    [
      ["1 second", expiring.keys.toLocaleString("en-US"), formatBytes(expiring.growth)],
      ["none (keys kept)", remembered.keys.toLocaleString("en-US"), formatBytes(remembered.growth)]
    ]
  )
  return [
    check("sequencer: ≥ 100,000 shuffled offers/s over 10,000 keys", shuffled >= 100_000, formatRate(shuffled)),
    check("sequencer: idle keys expire, heap after 1M offers < 20 MB", expiring.growth < 20e6, formatBytes(expiring.growth))
  ]
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const started = performance.now()
  printChecks(await runSequencerBench())
  console.log(`\nbench took ${((performance.now() - started) / 1000).toFixed(1)} s`)
}
