import { describe, expect, it } from "@effect/vitest"
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"

/**
 * Every `@example` in the public modules' JSDoc runs: each is extracted to a
 * file that imports the package's source, then imported here. An example
 * that throws, or whose promise rejects, fails this test.
 */
const root = fileURLToPath(new URL("..", import.meta.url))
const out = join(root, "test", ".examples")

// src/redis's examples talk to a Redis server: test/redis*.test.ts runs that API against a real one.
const skipped = new Set(["internal", "redis"])

const publicModules = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? skipped.has(entry.name) ? [] : publicModules(join(dir, entry.name))
      : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : []
  )

const examplesOf = (file: string): Array<string> => {
  const blocks: Array<string> = []
  const pattern = /@example\s*\n\s*\*\s*```ts\n([\s\S]*?)\n\s*\*\s*```/g
  for (const match of readFileSync(file, "utf8").matchAll(pattern)) {
    blocks.push(match[1].split("\n").map((line) => line.replace(/^\s*\* ?/, "")).join("\n"))
  }
  return blocks
}

const toSource = (code: string, from: string): string =>
  code.replace(/from "effect-ordered(\/\w+)?"/g, (_, entry = "") => `from "${relative(from, join(root, `src${entry}/index.ts`))}"`)

rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
const examples = publicModules(join(root, "src")).flatMap((file) =>
  examplesOf(file).map((code, i) => {
    const name = `${relative(join(root, "src"), file).replace(/[/.]/g, "_")}_${i}.ts`
    writeFileSync(join(out, name), toSource(code, out))
    return { file: relative(root, file), name }
  })
)

describe("JSDoc examples", () => {
  it("there are examples to run", () => {
    expect(examples.length).toBeGreaterThan(5)
  })
  for (const { file, name } of examples) {
    it(`${file}: ${name} runs`, async () => {
      await import(join(out, name))
      // let a runPromise(...).then(console.log) settle: a rejection fails the run
      await new Promise((resolve) => setTimeout(resolve, 200))
    })
  }
})
