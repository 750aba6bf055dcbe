import { AutoWindow } from "./autoWindow.ts"

/**
 * The engine's reorder window: how many actions were taken from upstream and
 * not yet handed to the consumer (`admitted`), and how many may be (`size`),
 * which an `AutoWindow` moves with `window: "auto"`.
 *
 * @internal
 */
export class Window {
  /** Taken from upstream, not yet handed to the consumer: at most `size` while admitting. */
  admitted = 0
  size: number
  private readonly auto: AutoWindow | undefined

  constructor(size: number, maxWindow: number | undefined) {
    this.size = size
    this.auto = maxWindow === undefined ? undefined : new AutoWindow(size, maxWindow)
  }

  /** The consumer took `count` results. */
  handedOver(count: number): void {
    if (this.auto !== undefined) this.size = this.auto.handedOver(count, this.admitted)
    this.admitted -= count
  }

  /** `window: "auto"`: grows by `idle` places if the window is full and may grow; returns whether it grew. */
  grow(idle: number): boolean {
    const auto = this.auto
    if (auto === undefined || idle <= 0 || this.admitted < this.size || !auto.canGrow) return false
    this.size = auto.grow(idle)
    return true
  }
}
