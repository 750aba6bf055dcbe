/**
 * A growable ring-buffer queue. The orders' queues of unreleased actions, the
 * key lanes' waiting actions and the hedged copies waiting for a worker are
 * all FIFOs whose length the window bounds, so a ring
 * that only grows to the largest length seen keeps memory flat without
 * `Array.prototype.shift`'s O(n) copies.
 *
 * @internal
 */
export class Fifo<T> {
  private items: Array<T | undefined>
  private head = 0
  private mask: number
  length = 0

  constructor(initialCapacity = 8) {
    let capacity = 2
    while (capacity < initialCapacity) capacity *= 2
    this.items = new Array(capacity)
    this.mask = capacity - 1
  }

  push(item: T): void {
    if (this.length === this.items.length) this.grow()
    this.items[(this.head + this.length) & this.mask] = item
    this.length++
  }

  /** The oldest item, or `undefined` when empty. */
  peek(): T | undefined {
    return this.length === 0 ? undefined : this.items[this.head]
  }

  shift(): T | undefined {
    if (this.length === 0) return undefined
    const item = this.items[this.head]
    this.items[this.head] = undefined
    this.head = (this.head + 1) & this.mask
    this.length--
    return item
  }

  clear(): void {
    this.items.fill(undefined)
    this.head = 0
    this.length = 0
  }

  private grow(): void {
    const old = this.items
    const next = new Array<T | undefined>(old.length * 2)
    for (let i = 0; i < this.length; i++) next[i] = old[(this.head + i) & this.mask]
    this.items = next
    this.head = 0
    this.mask = next.length - 1
  }
}
