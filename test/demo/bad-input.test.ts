/** Bad input: the demo's CLI flags (the generated table: test/utils/bad-input.ts, docs/validation.md). */
import { describe, expect, it } from "@effect/vitest"
import { parseArgs } from "../../examples/demo/args.ts"

describe("bad input: demo CLI flags (parseArgs; npm start exits 2 with this message, see test/demo/demo.test.ts)", () => {
  const texts = ["abc", "", "NaN", "Infinity", "-Infinity", "-1", "0", "1.5", "9007199254740992"]
  const flags: ReadonlyArray<readonly [string, string, ReadonlyArray<string>]> = [
    ["actions", "an integer ≥ 1", texts],
    ["concurrency", "an integer ≥ 1", texts],
    ["keys", "an integer ≥ 1", texts],
    ["rows", "an integer ≥ 1", texts],
    ["seed", "an integer", texts.filter((t) => t !== "-1" && t !== "0")],
    ["window", "an integer ≥ concurrency (100), inf or auto", [...texts.filter((t) => t !== "Infinity"), "99"]]
  ]
  for (const [flag, expected, values] of flags) {
    for (const text of values) {
      it(`--${flag}=${JSON.stringify(text)}`, () => {
        expect(() => parseArgs([`--${flag}=${text}`])).toThrow(`Invalid value for --${flag}: expected ${expected}, got "${text}"`)
      })
    }
    it(`--${flag} without a value`, () => {
      expect(() => parseArgs([`--${flag}`])).toThrow(`Missing value for --${flag}`)
    })
  }
  const latencies: ReadonlyArray<readonly [string, string]> = [
    ["uniform:-1:10", "expected an integer ≥ 0, got \"-1\""],
    ["uniform:1.5:10", "expected an integer ≥ 0, got \"1.5\""],
    ["uniform:5:5", "expected an integer ≥ 6, got \"5\""],
    ["uniform:0:Infinity", "expected an integer ≥ 1, got \"Infinity\""],
    ["lognormal:0:1", "expected a number > 0, got \"0\""],
    ["lognormal:NaN:1", "expected a number > 0, got \"NaN\""],
    ["lognormal:20:-1", "expected a number ≥ 0, got \"-1\""],
    ["lognormal:20:Infinity", "expected a number ≥ 0, got \"Infinity\""],
    ["uniform:0", "expected uniform:MIN:MAX or lognormal:MEDIAN:SIGMA, got \"uniform:0\""],
    ["", "expected uniform:MIN:MAX or lognormal:MEDIAN:SIGMA, got \"\""]
  ]
  for (const [spec, message] of latencies) {
    it(`--latency=${JSON.stringify(spec)}`, () => {
      expect(() => parseArgs([`--latency=${spec}`])).toThrow(`Invalid value for --latency: ${message}`)
    })
  }
})
