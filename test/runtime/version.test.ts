import { describe, expect, it } from "@effect/vitest"
import { unsupportedVersion } from "../../src/internal/runtime.ts"

describe("the Effect version check at import", () => {
  it("accepts effect ^3.22 and ^4", () => {
    for (const version of ["3.22.0", "3.22.4", "3.30.1", "4.0.0", "4.1.0", "4.0.0-beta.3", "4.12.7"]) {
      expect(unsupportedVersion(version)).toBeUndefined()
    }
  })

  it("refuses an older effect 3, another major or an unreadable version, naming what it found", () => {
    const cases: ReadonlyArray<[string | undefined, string]> = [
      ["3.21.9", "found effect 3.21.9"],
      ["3.0.0", "found effect 3.0.0"],
      ["2.4.19", "found effect 2.4.19"],
      ["5.0.0", "found effect 5.0.0"],
      ["next", "found effect next"],
      [undefined, "found an unknown version"]
    ]
    for (const [version, found] of cases) {
      expect(unsupportedVersion(version)).toBe(`effect-ordered needs effect ^3.22.0 or ^4.0.0; ${found}`)
    }
  })
})
