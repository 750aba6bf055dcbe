/**
 * `npm run serve` / `bun run serve`: the example's server for whichever
 * runtime runs this file (bunfig.toml makes `bun run` use Bun itself).
 */
const runtime = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node"
await import(`./${runtime}.ts`)
