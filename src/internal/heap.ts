/**
 * A binary min-heap ordered by `before`: the hedging watch's heads by start
 * time (`hedge.ts`) and the virtual clock's wake-ups by due time
 * (`virtualTime.ts`). Items that tie come out in no particular order unless
 * `before` breaks the tie.
 *
 * @internal
 */
export class Heap<T> {
  private readonly items: Array<T> = []

  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get length(): number {
    return this.items.length
  }

  /** The least item, or `undefined` when empty. */
  peek(): T | undefined {
    return this.items[0]
  }

  push(item: T): void {
    const items = this.items
    let i = items.push(item) - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.before(items[i], items[parent])) break
      ;[items[i], items[parent]] = [items[parent], items[i]]
      i = parent
    }
  }

  /** Removes and returns the least item, or `undefined` when empty. */
  pop(): T | undefined {
    const items = this.items
    if (items.length === 0) return undefined
    const top = items[0]
    const last = items.pop()!
    if (items.length === 0) return top
    items[0] = last
    for (let i = 0;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < items.length && this.before(items[l], items[m])) m = l
      if (r < items.length && this.before(items[r], items[m])) m = r
      if (m === i) return top
      ;[items[i], items[m]] = [items[m], items[i]]
      i = m
    }
  }
}
