/**
 * Preloaded into the Bun server by `bench/http-rss.ts` (`bun --preload`):
 * Bun does not speak the V8 inspector protocol, so on SIGUSR2 this runs a
 * full GC and prints one line with `process.memoryUsage()` and the live
 * objects per type (`bun:jsc` `heapStats`).
 */
// @ts-ignore: bun:jsc exists only in Bun (the project type-checks with Node's types)
import { heapStats } from "bun:jsc"

process.on("SIGUSR2", () => {
  ;(globalThis as unknown as { Bun: { gc(force: boolean): void } }).Bun.gc(true)
  const { objectTypeCounts } = heapStats() as { objectTypeCounts: Record<string, number> }
  console.log(`bun-heap ${JSON.stringify({ memory: process.memoryUsage(), objects: objectTypeCounts })}`)
})
