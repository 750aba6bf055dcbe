import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs, UsageError } from "../../examples/demo/args.ts"
import { replay } from "../../examples/demo/replay.ts"
import { timelineSvg, windowSvg } from "../../examples/demo/svg.ts"
import { Ordered, Simulation } from "../../src/index.ts"

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
      const fiber = yield* Effect.fork(Ordered.forEach([0, 1], replayed.action, { concurrency: 2, hedge: { after: 100 } }))
      // The copy of 0 starts at 100 ms and finishes 40 ms later; the first attempt would take 1000 ms.
      yield* TestClock.adjust(139)
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      expect(replayed.hedged()).toBe(1)
      expect(replayed.hedgeWins()).toBe(0)
      yield* TestClock.adjust(1)
      expect(yield* Fiber.poll(fiber)).toEqual(Option.some(Exit.succeed([0, 1])))
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
      const fiber = yield* Effect.fork(Effect.zipRight(run, Clock.currentTimeMillis))
      yield* TestClock.adjust("1 minute")
      // Finished when the simulation says: the copies won the same races on the same clock.
      expect(yield* Fiber.join(fiber)).toBe(simulated.makespanMillis)
      expect(simulated.hedgeWins).toBeGreaterThan(0)
      expect([replayed.hedged(), replayed.hedgeWins()]).toEqual([simulated.hedged, simulated.hedgeWins])
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
    [["--rows", "-1"], "--rows"]
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
