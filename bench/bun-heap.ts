/**
 * Preloaded into the Bun server by `bench/http-rss.ts` (`bun --preload`):
 * Bun does not speak the V8 inspector protocol, so on SIGUSR2 this runs a
 * full GC and prints one line with `process.memoryUsage()` and the live
 * objects per type (`bun:jsc` `heapStats`).
 */
/** `bun:jsc` exists only in Bun (the project type-checks with Node's types): imported by a name TypeScript does not resolve. */
const jsc = "bun:jsc"
const { heapStats } = (await import(jsc)) as { heapStats: () => { objectTypeCounts: Record<string, number> } }

process.on("SIGUSR2", () => {
  ;(globalThis as unknown as { Bun: { gc(force: boolean): void } }).Bun.gc(true)
  const { objectTypeCounts } = heapStats()
  console.log(`bun-heap ${JSON.stringify({ memory: process.memoryUsage(), objects: objectTypeCounts })}`)
})
