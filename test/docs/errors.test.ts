/**
 * The error messages that README.md, docs/ and the examples' READMEs quote are
 * the ones the code produces: every quoted `` Expected `…` to …, got `…` (type) ``
 * must equal the message of one of the calls below (a `…` in a quote stands for
 * any text). The calls hold no copy of any message, so when the code rewords
 * one, the docs that quote it fail here until they are updated.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { Checkpoint, Ordered, Sequencer, Simulation } from "../../src/index.ts"
import * as Kafka from "../../src/kafka/index.ts"
import * as Redis from "../../src/redis/index.ts"
import { outcome } from "../utils/bad-input.ts"

const root = path.resolve(import.meta.dirname, "../..")

const pages = (): ReadonlyArray<string> => [
  "README.md",
  ...fs.readdirSync(path.join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`),
  ...fs.readdirSync(path.join(root, "examples"), { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(root, "examples", d.name, "README.md")))
    .map((d) => `examples/${d.name}/README.md`)
]

/** A message as `validate.ts` words it: the path in backticks, what was expected, the value and its type. */
const QUOTE = /Expected `[^`\n]+` to (?:be|come) (?:[^`\n|]|`[^`\n]*`)*?, got `[^`\n]*` \([a-z]+\)(?: and (?:no \w+|\w+ `[^`\n]*` \([a-z]+\)))?/g

interface Quote {
  readonly where: string
  readonly text: string
}

const quotes = (): ReadonlyArray<Quote> =>
  pages().flatMap((page) =>
    fs.readFileSync(path.join(root, page), "utf8").split("\n").flatMap((line, i) =>
      Array.from(line.matchAll(QUOTE), (match) => ({ where: `${page}:${i + 1}`, text: match[0] }))
    )
  )

const f = (n: number) => Effect.succeed(n)
const noop = () => Effect.void

/** The calls whose refusals the docs quote: one per kind of check, each refusing one value. */
const calls: ReadonlyArray<() => unknown> = [
  () => Ordered.forEach([1], f, { concurrency: 0 }),
  () => Ordered.forEach([1], f, { concurrency: 100, window: 50 }),
  () => Ordered.forEach([1], f, { concurrency: "auto", maxConcurrency: 8, minConcurrency: 9 }),
  () => Ordered.forEach([1], f, { concurrency: 4, maxConcurrency: 8 }),
  () => Ordered.forEach([1], f, { concurrency: 1, order: "key" }),
  () => Ordered.forEach([0, 1, 2, 3], f, { concurrency: 1, key: (n) => n === 3 ? "" : n }),
  () => Ordered.forEach([1], (async (n: number) => n) as never, { concurrency: 1 }),
  () => Checkpoint.complete(Checkpoint.make(), 1.5),
  () => Sequencer.make({ capacity: 0 }),
  () => Sequencer.make({ capacity: 8, onGap: "fail" }),
  () => Sequencer.make({ capacity: 2, gapTimeout: "2 seconds", maxGapWait: "1 second" }),
  () => Effect.scoped(Effect.flatMap(Sequencer.make<number>({ capacity: 8 }), (s) => Sequencer.offer(s, "k", 1.5, 1))),
  () => Effect.scoped(Effect.flatMap(Sequencer.make<number>({ capacity: 8 }), (s) => Sequencer.offer(s, "", 0, 1))),
  () => Simulation.run({ actions: 10, concurrency: 2, failures: 2 }),
  () => Simulation.run({ actions: 10, concurrency: 2, latency: Simulation.Latency.uniform(5, 5) }),
  () => Simulation.run({ actions: 10, concurrency: 2, latency: (i) => i === 3 ? -1 : 1 }),
  () => Simulation.run({ actions: 10, concurrency: 2, latency: Simulation.Latency.fixed([1, -1]) }),
  () =>
    Kafka.consume({
      brokers: ["127.0.0.1:9"],
      topic: "t",
      group: "g",
      order: "offset" as never,
      concurrency: 1,
      process: noop,
      commit: noop
    }),
  () => Redis.partitionOf("k", 0),
  () =>
    Redis.makeProducer({ redis: { evalsha: noop, xadd: noop } as never, prefix: "p", partitions: 1 }).publish(
      "k",
      undefined
    ),
  () =>
    Redis.consume({
      redis: { evalsha: noop } as never,
      prefix: "p",
      partitions: 1,
      group: "g",
      consumer: "c",
      poison: "drop" as never,
      concurrency: 1,
      process: noop,
      commit: noop
    } as never)
]

const matches = (quote: string, message: string): boolean => {
  const pattern = quote.split("…").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")
  return new RegExp(`^${pattern}$`).test(message)
}

describe("error messages quoted by the docs", () => {
  it("finds the quotes (the pattern still reads the docs)", () => {
    expect(quotes().length).toBeGreaterThanOrEqual(10)
  })

  it("every quoted message is what a call produces, word for word", async () => {
    const produced: Array<string> = []
    for (const call of calls) {
      const result = await outcome(call)
      if (result._tag !== "IllegalArgument") throw new Error(`expected a refusal, got ${JSON.stringify(result)}`)
      produced.push(result.message)
    }
    const stale = quotes().filter((quote) => !produced.some((message) => matches(quote.text, message)))
    expect(stale.map((quote) => `${quote.where}: ${quote.text}`), `the code produces:\n${produced.join("\n")}`)
      .toEqual([])
  })
})
