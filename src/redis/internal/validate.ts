import type { Redis } from "ioredis"
import * as V from "../../internal/validate.ts"

/** The core's validation helpers plus the ones only this entry point needs. @internal */
export * from "../../internal/validate.ts"

/** Anything that looks like an ioredis client (duck-typed: ioredis may be loaded twice). */
export const client = (path: string, value: unknown): Redis => {
  if (typeof value === "object" && value !== null && typeof (value as Redis).evalsha === "function") return value as Redis
  throw V.invalid(path, "an ioredis client (new Redis(…))", value)
}
