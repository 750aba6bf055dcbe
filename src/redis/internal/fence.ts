import * as Effect from "effect/Effect"
import type { Redis } from "ioredis"
import { type RedisError, StaleFenceError } from "../errors.ts"
import type { FencedScriptCall } from "../index.ts"
import { runScript, script } from "./redis.ts"

/**
 * A sink script guarded by a fencing token. The guard takes the first key
 * (the fence key) and the first argument (the fence) off `KEYS` and `ARGV`,
 * so the body sees only its own; a fence below the stored one is an error
 * reply and the body never runs (atomic: one script).
 */
const GUARD = `local fenceKey = table.remove(KEYS, 1)
local fence = tonumber(table.remove(ARGV, 1))
local stored = tonumber(redis.call('GET', fenceKey) or '0')
if fence < stored then return redis.error_reply('STALEFENCE ' .. stored) end
if fence > stored then redis.call('SET', fenceKey, fence) end
`

/** @internal */
export const fencedScript = (lua: string) => {
  const s = script("fenced sink script", GUARD + lua)
  return (redis: Redis, call: FencedScriptCall): Effect.Effect<unknown, RedisError | StaleFenceError> =>
    runScript(redis, s, [call.fenceKey, ...(call.keys ?? [])], [call.fence, ...(call.args ?? [])]).pipe(
      Effect.mapError((error): RedisError | StaleFenceError => {
        const stale = error.cause instanceof Error ? /^STALEFENCE (\d+)/.exec(error.cause.message) : null
        return stale === null
          ? error
          : new StaleFenceError({ fenceKey: call.fenceKey, fence: call.fence, current: Number(stale[1]) })
      })
    )
}
