/**
 * vitest 5 declares Node ^22.12 and its reporter calls three ES2024 built-ins that Node 20 lacks (`Map.groupBy`
 * when it prints failed tests, `Object.groupBy`, `Promise.withResolvers`): without them a failing test crashes the
 * report instead of being shown. Called by vitest.config.ts, so only vitest's own process gets them, and only
 * where they are missing; the tests run on the runtime's built-ins.
 */
const groups = <K, T>(items: Iterable<T>, key: (item: T, index: number) => K): Map<K, Array<T>> => {
  const map = new Map<K, Array<T>>()
  let index = 0
  for (const item of items) {
    const k = key(item, index++)
    const group = map.get(k)
    if (group === undefined) map.set(k, [item])
    else group.push(item)
  }
  return map
}

// deno-lint-ignore no-explicit-any
const MapConstructor = Map as any
// deno-lint-ignore no-explicit-any
const ObjectConstructor = Object as any
// deno-lint-ignore no-explicit-any
const PromiseConstructor = Promise as any

export const addMissingBuiltIns = (): void => {
  MapConstructor.groupBy ??= groups
  ObjectConstructor.groupBy ??= <T>(items: Iterable<T>, key: (item: T, index: number) => PropertyKey) =>
    Object.assign(Object.create(null), Object.fromEntries(groups(items, key)))
  PromiseConstructor.withResolvers ??= <T>() => {
    let resolve!: (value: T) => void
    let reject!: (reason: unknown) => void
    const promise = new Promise<T>((res, rej) => {
      resolve = res
      reject = rej
    })
    return { promise, resolve, reject }
  }
}
