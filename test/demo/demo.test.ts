import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs, UsageError } from "../../examples/demo/args.ts"
import { replay } from "../../examples/demo/replay.ts"
import { timelineSvg, windowSvg } from "../../examples/demo/svg.ts"
import { Ordered, Simulation } from "../../src/index.ts"
import { TestClock, adjustUntilDone, fork, poll, settle } from "../utils/line.ts"

const root = fileURLToPath(new URL("../..", import.meta.url))

const run = (command: string, args: ReadonlyArray<string>) =>
  Effect.sync(() => spawnSync(command, args, { cwd: root, encoding: "utf8", timeout: 120_000 }))

/** Runs the demo as `npm start` does (node + tsx). */
const demo = (...args: ReadonlyArray<string>) =>
  run(process.execPath, ["--import", "tsx", "examples/demo/main.ts", ...args])

interface Element {
  readonly name: string
  readonly attributes: Record<string, string>
}

/**
 * A small XML well-formedness check (enough for hand-written SVG): tags
 * nest and close, attributes are quoted, text holds no raw `<` or `&`, one
 * root element. Returns the elements in document order.
 */
const parseXml = (xml: string): Array<Element> => {
  const token =
    /<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);|[<&]/g
  const elements: Array<Element> = []
  const open: Array<string> = []
  let roots = 0
  for (const match of xml.matchAll(token)) {
    const [whole, closing, name, attributes, selfClosing] = match
    if (whole === "<" || whole === "&") throw new Error(`stray ${whole} at ${match.index}`)
    if (name === undefined) continue
    if (closing) {
      const expected = open.pop()
      if (expected !== name) throw new Error(`</${name}> closes <${expected}> at ${match.index}`)
      continue
    }
    if (open.length === 0 && ++roots > 1) throw new Error(`second root <${name}>`)
    const attrs: Record<string, string> = {}
    for (const [, key, value] of attributes.matchAll(/([\w:.-]+)="([^"]*)"/g)) {
      if (key in attrs) throw new Error(`duplicate attribute ${key} on <${name}>`)
      attrs[key] = value
    }
    elements.push({ name, attributes: attrs })
    if (!selfClosing) open.push(name)
  }
  if (open.length > 0) throw new Error(`unclosed <${open.join("> <")}>`)
  if (roots !== 1) throw new Error("no root element")
  return elements
}

const withClass = (elements: ReadonlyArray<Element>, name: string, className: string) =>
  elements.filter((e) => e.name === name && e.attributes.class === className)

describe("the XML check", () => {
  it("rejects what is not well-formed", () => {
    expect(() => parseXml(`<svg><g></svg>`)).toThrow("closes")
    expect(() => parseXml(`<svg><text>a < b</text></svg>`)).toThrow("stray <")
    expect(() => parseXml(`<svg><text>a & b</text></svg>`)).toThrow("stray &")
    expect(() => parseXml(`<svg x=1></svg>`)).toThrow()
    expect(parseXml(`<?xml version="1.0"?><svg a="1"><g/><text>a &amp; b</text></svg>`).map((e) => e.name))
      .toEqual(["svg", "g", "text"])
  })
})

describe("demo SVG", () => {
  it.effect("timeline.svg parses as XML and has one row per action shown, and a marker per hedged copy", () =>
    Effect.gen(function*() {
      const report = yield* Simulation.run({ actions: 120, concurrency: 10, failures: 0.01, seed: 2, hedge: { after: 60 } })
      const shown = report.timeline.slice(0, 37)
      const elements = parseXml(timelineSvg({
        title: "A <title> & more",
        subtitle: "subtitle",
        timeline: shown,
        makespanMillis: report.makespanMillis
      }))
      const rows = withClass(elements, "g", "action")
      expect(rows.map((row) => Number(row.attributes["data-index"]))).toEqual(shown.map((a) => a.index))
      const hedged = shown.filter((a) => a.hedgeStartMillis !== undefined).length
      expect(hedged).toBeGreaterThan(0)
      // and one in the legend
      expect(withClass(elements, "path", "hedge-marker")).toHaveLength(hedged + 1)
      expect(withClass(elements, "rect", "hedge")).toHaveLength(hedged)
    }))

  it("window.svg parses as XML with a bar per window in each panel", () => {
    const elements = parseXml(windowSvg({
      title: "t",
      subtitle: "s",
      windows: ["1×", "2×", "unbounded"],
      defaultIndex: 1,
      panels: [
        { label: "uniform", ordered: [900, 560, 550], stream: 950 },
        { label: "heavy", ordered: [3600, 2500, 1000], stream: 3650 }
      ]
    }))
    expect(withClass(elements, "g", "panel")).toHaveLength(2)
    expect(withClass(elements, "rect", "bar")).toHaveLength(6)
  })
})

describe("the real run's actions", () => {
  it.effect("a hedged copy sleeps its own latency, not the first attempt's", () =>
    Effect.gen(function*() {
      const replayed = replay({ latencyMillis: [1000, 5], hedgeLatencyMillis: [40, 5], keys: undefined, fails: [false, false] })
      const fiber = yield* fork(Ordered.forEach([0, 1], replayed.action, { concurrency: 2, hedge: { after: 100 } }))
      // The copy of 0 starts at 100 ms and finishes 40 ms later; the first attempt would take 1000 ms.
      yield* settle
      yield* TestClock.adjust(139)
      expect(poll(fiber)).toBeNull()
      expect(replayed.hedged()).toBe(1)
      expect(replayed.hedgeWins()).toBe(0)
      yield* TestClock.adjust(1)
      const exit = poll(fiber)
      expect(exit !== null && Exit.isSuccess(exit) ? exit.value : exit).toEqual([0, 1])
      expect(replayed.hedgeWins()).toBe(1)
    }))

  it.effect("replays a simulated workload in the simulated makespan, with the same copies", () =>
    Effect.gen(function*() {
      const options: Simulation.Options = {
        actions: 300,
        concurrency: 20,
        latency: Simulation.Latency.logNormal(20, 1.2),
        seed: 3,
        hedge: { quantile: 0.9 }
      }
      const simulated = yield* Simulation.run(options)
      const replayed = replay(Simulation.workload(options))
      const run = Ordered.forEach(Array.from({ length: options.actions }, (_, i) => i), replayed.action, options)
      const fiber = yield* fork(Effect.andThen(run, Clock.currentTimeMillis))
      yield* adjustUntilDone(fiber, "1 minute")
      // Finished when the simulation says: the copies won the same races on the same clock.
      expect(yield* Fiber.join(fiber)).toBe(simulated.makespanMillis)
      expect(simulated.hedgeWins).toBeGreaterThan(0)
      expect([replayed.hedged(), replayed.hedgeWins()]).toEqual([simulated.hedged, simulated.hedgeWins])
    }))

  it.effect("replays a capacity-bound downstream under \"auto\" as the simulation runs it", () =>
    Effect.gen(function*() {
      const capacity = { capacity: 30, changes: [{ atMillis: 600, capacity: 10 }] }
      const options: Simulation.Options = {
        actions: 1000,
        concurrency: "auto",
        maxConcurrency: 200,
        latency: Simulation.Latency.server({
          capacity: capacity.capacity,
          latency: Simulation.Latency.logNormal(20, 0.5),
          capacityChanges: capacity.changes
        }),
        seed: 4
      }
      const simulated = yield* Simulation.run(options)
      const work = Simulation.workload(options)
      const replayed = replay(work, capacity)
      const run = Ordered.forEach(Array.from({ length: options.actions }, (_, i) => i), replayed.action, options)
      const fiber = yield* fork(Effect.andThen(replayed.run(run), Clock.currentTimeMillis))
      yield* adjustUntilDone(fiber, "10 minutes")
      // The same downstream on the same clock: the same makespan and the same observed latencies.
      expect(yield* Fiber.join(fiber)).toBe(simulated.makespanMillis)
      const p99 = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.ceil(0.99 * values.length) - 1]
      expect(replayed.latencies()).toHaveLength(options.actions)
      expect(p99(replayed.latencies())).toBe(simulated.latency.p99)
      // The downstream queued (the drop to 10 most): the observed p99 is above the service time's.
      expect(simulated.latency.p99).toBeGreaterThan(p99(work.latencyMillis))
    }))
})

describe("demo flags", () => {
  it("defaults to the reference experiment", () => {
    expect(parseArgs([])).toMatchObject({
      actions: 1000,
      concurrency: 100,
      window: undefined,
      order: "total",
      latency: Simulation.Latency.uniform(0, 100),
      real: true,
      out: "out"
    })
    expect(parseArgs(["--help"])).toBeUndefined()
    expect(parseArgs(["--window=inf", "--latency", "lognormal:20:1.2", "--no-real", "--order", "key", "--keys", "4"]))
      .toMatchObject({
        window: Infinity,
        latency: Simulation.Latency.logNormal(20, 1.2),
        real: false,
        order: "key",
        keys: 4
      })
    expect(parseArgs(["--concurrency", "auto", "--max-concurrency=400", "--min-concurrency", "5", "--capacity", "80:20@2000"]))
      .toMatchObject({
        concurrency: "auto",
        maxConcurrency: 400,
        minConcurrency: 5,
        latency: Simulation.Latency.server({
          capacity: 80,
          latency: Simulation.Latency.uniform(0, 100),
          capacityChanges: [{ atMillis: 2000, capacity: 20 }]
        }),
        serviceLatency: Simulation.Latency.uniform(0, 100)
      })
    expect(parseArgs(["--concurrency", "auto"])).toMatchObject({ maxConcurrency: undefined, minConcurrency: undefined })
    expect(parseArgs(["--concurrency", "auto", "--window", "1000"])).toMatchObject({ window: 1000 })
  })

  const bad: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
    [["--bogus"], "Unknown flag: --bogus"],
    [["--hedge", "p0"], "--hedge"],
    [["--hedge", "fast"], "--hedge"],
    [["stray"], "Unexpected argument: stray"],
    [["--actions", "0"], "--actions"],
    [["--actions"], "Missing value for --actions"],
    [["--concurrency", "2.5"], "--concurrency"],
    [["--concurrency", "10", "--window", "5"], "--window"],
    [["--order", "sorted"], "--order"],
    [["--order", "key"], "--order: key needs --keys"],
    [["--keys", "x"], "--keys"],
    [["--latency", "uniform:5:5"], "--latency"],
    [["--latency", "normal:1:2"], "--latency"],
    [["--seed", "1e400"], "--seed"],
    [["--rows", "-1"], "--rows"],
    [["--concurrency", "atuo"], "Invalid value for --concurrency: expected an integer ≥ 1, got \"atuo\""],
    [["--max-concurrency", "10"], "Invalid value for --max-concurrency: needs --concurrency auto"],
    [["--concurrency", "4", "--min-concurrency", "2"], "Invalid value for --min-concurrency: needs --concurrency auto"],
    [["--concurrency", "auto", "--max-concurrency", "0"], "Invalid value for --max-concurrency: expected an integer ≥ 1, got \"0\""],
    [
      ["--concurrency", "auto", "--max-concurrency", "10", "--min-concurrency", "11"],
      "Invalid value for --min-concurrency: expected an integer from 1 to max-concurrency (10), got \"11\""
    ],
    [
      ["--concurrency", "auto", "--min-concurrency", "1.5"],
      "Invalid value for --min-concurrency: expected an integer from 1 to max-concurrency (1000), got \"1.5\""
    ],
    [
      ["--concurrency", "auto", "--window", "500"],
      "Invalid value for --window: expected an integer ≥ max-concurrency (1000), inf or auto, got \"500\""
    ],
    [["--capacty", "40"], "Unknown flag: --capacty (did you mean --capacity?)"],
    ...["0", "", "4.5", "40:20", "40:20@", "40:20@-1", "40:x@5", "40:20@5@6", "40:0@5", "40:20@Infinity"].map((text) =>
      [
        ["--capacity", text],
        `Invalid value for --capacity: expected C or C:C@MS… (capacities integers ≥ 1, times ms ≥ 0), got "${text}"`
      ] as const
    )
  ]
  for (const [args, message] of bad) {
    it(`rejects ${args.join(" ")}`, () => {
      expect(() => parseArgs(args)).toThrow(UsageError)
      expect(() => parseArgs(args)).toThrow(message)
    })
  }
})

describe("npm start", () => {
  it.effect("exits 2 with one line naming an unknown flag, and a guess for a typo", () =>
    Effect.gen(function*() {
      const result = yield* demo("--bogus")
      expect(result.status).toBe(2)
      expect(result.stderr).toBe("Unknown flag: --bogus; --help lists the flags\n")
      expect(result.stdout).toBe("")
      const typo = yield* demo("--windw", "auto")
      expect(typo.status).toBe(2)
      expect(typo.stderr).toBe("Unknown flag: --windw (did you mean --window?); --help lists the flags\n")
    }))

  it.effect("exits 2 naming a flag with a bad value", () =>
    Effect.gen(function*() {
      const result = yield* demo("--latency", "uniform:0")
      expect(result.status).toBe(2)
      expect(result.stderr.trimEnd().split("\n")).toEqual([
        "Invalid value for --latency: expected uniform:MIN:MAX or lognormal:MEDIAN:SIGMA, got \"uniform:0\""
      ])
    }))

  it.effect("prints the comparison and the real run, and writes both charts", () =>
    Effect.gen(function*() {
      const out = mkdtempSync(join(tmpdir(), "effect-ordered-demo-"))
      try {
        const result = yield* demo("--actions", "120", "--concurrency", "10", "--hedge", "60", "--rows", "40", "--out", out)
        expect(result.stderr).toBe("")
        expect(result.status).toBe(0)
        for (
          const row of [
            "one at a time (sum of latencies)",
            "Stream.mapEffect (concurrency 10)",
            "effect-ordered, window auto",
            "effect-ordered, window auto, hedge after 60 ms",
            "vs unbounded: makespan / the makespan with an unbounded window"
          ]
        ) {
          expect(result.stdout).toContain(row)
        }
        // the real run beside the simulated one
        expect(result.stdout).toMatch(/\n\s+real\s+simulated\nmakespan\s+[\d,]+ ms\s+[\d,]+ ms\n/)
        expect(result.stdout).toMatch(/\nhedged copies\s+\d+\s+\d+\n/)
        expect(result.stdout).toMatch(/\nresults emitted\s+120 of 120\s+120 of 120\norder \(input order\)\s+held\s+held\n/)
        const timeline = parseXml(readFileSync(join(out, "timeline.svg"), "utf8"))
        expect(withClass(timeline, "g", "action")).toHaveLength(40)
        const window = parseXml(readFileSync(join(out, "window.svg"), "utf8"))
        // the reference latencies (the default is one of them), a bar per window and auto
        expect(withClass(window, "rect", "bar")).toHaveLength(2 * 7)
      } finally {
        rmSync(out, { recursive: true, force: true })
      }
    }))

  it.effect("with --concurrency auto and --capacity: the limit stays within its bounds, and shows on the timeline", () =>
    Effect.gen(function*() {
      const out = mkdtempSync(join(tmpdir(), "effect-ordered-demo-"))
      try {
        const result = yield* demo(
          ...["--concurrency", "auto", "--max-concurrency", "200", "--min-concurrency", "4", "--capacity", "40"],
          ...["--latency", "lognormal:20:0.5", "--actions", "1000", "--no-real", "--rows", "80", "--out", out]
        )
        expect(result.stderr).toBe("")
        expect(result.status).toBe(0)
        expect(result.stdout).toContain("capacity 40, concurrency auto, max 200, min 4,")
        for (
          const row of [
            /\nStream\.mapEffect \(concurrency 200\)\s+[\d,]+ ms\s+[\d.]+×\s+[\d.]+×\s+[\d,]+ ms\n/,
            /\neffect-ordered, window auto\s+[\d,]+ ms\s+[\d.]+×\s+[\d.]+×\s+[\d,]+ ms\n/,
            // the fixed concurrency that matches the capacity, to compare with
            /\neffect-ordered, concurrency 40, window auto\s+[\d,]+ ms\s+[\d.]+×\s+[\d.]+×\s+[\d,]+ ms\n/
          ]
        ) {
          expect(result.stdout).toMatch(row)
        }
        const limit = /\nconcurrency limit: mean ([\d.]+), max (\d+), final (\d+) \((\d+) changes\); observed latency p50 (\d+) ms, p99 (\d+) ms\n/
          .exec(result.stdout)
        expect(limit).not.toBeNull()
        const [mean, max, final, changes, p50, p99] = limit!.slice(1).map(Number)
        for (const value of [mean, max, final]) {
          expect(value).toBeGreaterThanOrEqual(4)
          expect(value).toBeLessThanOrEqual(200)
        }
        expect(mean).toBeLessThanOrEqual(max)
        expect(changes).toBeGreaterThan(1)
        expect(p50).toBeLessThanOrEqual(p99)
        // It found the capacity rather than the bound: well below 200 on average.
        expect(mean).toBeLessThan(100)
        const timeline = parseXml(readFileSync(join(out, "timeline.svg"), "utf8"))
        expect(withClass(timeline, "path", "limit")).toHaveLength(1)
        expect(withClass(timeline, "line", "swatch")).toHaveLength(1)
        expect(withClass(timeline, "g", "action")).toHaveLength(80)
      } finally {
        rmSync(out, { recursive: true, force: true })
      }
    }))

  it.effect("runs auto against a capacity for real, and prints the limit and latency beside the simulated run", () =>
    Effect.gen(function*() {
      const out = mkdtempSync(join(tmpdir(), "effect-ordered-demo-"))
      try {
        const result = yield* demo(
          ...["--concurrency", "auto", "--max-concurrency", "100", "--capacity", "20:10@200"],
          ...["--latency", "lognormal:10:0.5", "--actions", "600", "--rows", "20", "--out", out]
        )
        expect(result.stderr).toBe("")
        expect(result.status).toBe(0)
        expect(result.stdout).toContain("capacity 20, 10 from 200 ms")
        const limit = /\nconcurrency limit\s+mean ([\d.]+), max (\d+), final (\d+)\s+mean ([\d.]+), max (\d+), final (\d+)\n/
          .exec(result.stdout)
        expect(limit).not.toBeNull()
        for (const value of limit!.slice(1).map(Number)) {
          expect(value).toBeGreaterThanOrEqual(1)
          expect(value).toBeLessThanOrEqual(100)
        }
        expect(result.stdout).toMatch(/\nlatency p50\s+[\d,]+ ms\s+[\d,]+ ms\nlatency p99\s+[\d,]+ ms\s+[\d,]+ ms\n/)
        expect(result.stdout).toMatch(/\nresults emitted\s+600 of 600\s+600 of 600\norder \(input order\)\s+held\s+held\n/)
      } finally {
        rmSync(out, { recursive: true, force: true })
      }
    }))

  for (
    const [runtime, command, args] of [
      ["Deno", join(root, "node_modules/.bin/deno"), ["run", "-A", "examples/demo/main.ts"]],
      ["Bun", join(root, "node_modules/.bin/bun"), ["examples/demo/main.ts"]]
    ] as const
  ) {
    it.effect(`runs under ${runtime}`, () =>
      Effect.gen(function*() {
        const out = mkdtempSync(join(tmpdir(), "effect-ordered-demo-"))
        try {
          const result = yield* run(command, [...args, "--actions", "60", "--concurrency", "6", "--out", out])
          expect(result.stderr).toBe("")
          expect(result.status).toBe(0)
          expect(result.stdout).toContain(`default clock, ${runtime.toLowerCase()} `)
          expect(result.stdout).toMatch(/\nresults emitted\s+60 of 60\s+60 of 60\norder \(input order\)\s+held\s+held\n/)
          expect(withClass(parseXml(readFileSync(join(out, "timeline.svg"), "utf8")), "g", "action")).toHaveLength(60)
        } finally {
          rmSync(out, { recursive: true, force: true })
        }
      }))
  }
})
