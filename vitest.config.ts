import { defineConfig } from "vitest/config"
import { addMissingBuiltIns } from "./test/utils/node20.ts"

addMissingBuiltIns()

/**
 * Every suite runs twice: on effect 3 (`effect`, `@effect/vitest` 0.29) and on effect 4 (the `effect4` and
 * `@effect/vitest4` npm aliases). The effect-4 project only redirects module specifiers; what differs between the
 * lines at runtime is picked in one place, test/utils/line.ts. The two edge examples are one line's apps each:
 * examples/edge on effect 3 and `@effect/platform` (test/edge), examples/edge-effect4 on effect 4's `effect/http`
 * (test/edge-effect4); each suite runs in its line's project.
 */
export default defineConfig({
  test: {
    testTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: { name: "effect3", include: ["test/**/*.test.ts"], exclude: ["test/edge-effect4/**"], provide: { effectLine: 3 } }
      },
      {
        extends: true,
        resolve: {
          alias: [
            // effect 4 moved the test services under `effect/testing`
            { find: /^effect\/(TestClock|TestConsole)$/, replacement: "effect4/testing/$1" },
            { find: /^effect\/(.*)$/, replacement: "effect4/$1" },
            { find: /^effect$/, replacement: "effect4" },
            { find: /^@effect\/vitest$/, replacement: "@effect/vitest4" }
          ]
        },
        test: {
          name: "effect4",
          include: ["test/**/*.test.ts"],
          exclude: ["test/edge/**"],
          provide: { effectLine: 4 },
          // inlined so that its own `import "effect"` goes through the aliases above (else Node finds effect 3)
          server: { deps: { inline: ["@effect/vitest4"] } }
        }
      }
    ]
  }
})
