// A first-in first-out queue for the route writer's hot path (tens of thousands of requests per second):
// an array read from a moving head index, so push and shift are O(1) without Array#shift's copy of the
// whole array per call. Taken slots are cleared (what they held can be collected), an emptied queue starts
// over at index 0, and once the dead prefix is both at least COMPACT_AFTER slots and at least half the
// array, the live items are moved to the front in place: each item is moved at most once per slot shifted
// before it, so every operation stays amortised O(1), and memory stays proportional to what is queued.
// Internal to @caracal/kernel (not exported from the package).

/** Dead slots at the front before a compaction is considered (small queues just reset when emptied). */
const COMPACT_AFTER = 1024;

export class FifoQueue<T> {
  /** Live items are `items[head]` … `items[items.length - 1]`; slots before `head` are cleared. */
  private items: (T | undefined)[] = [];
  private head = 0;

  /** Items queued. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** Adds `item` at the back. */
  push(item: T): void {
    this.items.push(item);
  }

  /** The oldest item, left in the queue; undefined when empty. */
  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  /** The item `index` places behind the oldest (0 = the oldest); undefined outside 0 … length - 1. */
  at(index: number): T | undefined {
    return index >= 0 && index < this.length ? this.items[this.head + index] : undefined;
  }

  /** Removes and returns the oldest item; undefined when empty. */
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head++;
    this.compact();
    return item;
  }

  /**
   * Removes and returns the item at `index` (0 = the oldest): O(1) for the oldest, O(length) elsewhere
   * (the items behind it move up). Throws a RangeError naming the index and length when out of range.
   */
  removeAt(index: number): T {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(`FifoQueue.removeAt: index ${index} is outside 0 … ${this.length - 1}`);
    }
    if (index === 0) return this.shift() as T;
    const [item] = this.items.splice(this.head + index, 1);
    return item as T;
  }

  /** Position of `item` (0 = the oldest, compared with ===), or -1. */
  indexOf(item: T): number {
    const at = this.items.indexOf(item, this.head);
    return at < 0 ? -1 : at - this.head;
  }

  /** Removes every item and returns them, oldest first. */
  drain(): T[] {
    const items = (this.head === 0 ? this.items : this.items.slice(this.head)) as T[];
    this.items = [];
    this.head = 0;
    return items;
  }

  /** The items, oldest first (do not change the queue while iterating). */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let at = this.head; at < this.items.length; at++) yield this.items[at] as T;
  }

  private compact(): void {
    const { items, head } = this;
    if (head === items.length) {
      // Emptied: start over at the front (the array keeps no references: each slot was cleared).
      items.length = 0;
      this.head = 0;
    } else if (head >= COMPACT_AFTER && head * 2 >= items.length) {
      items.copyWithin(0, head);
      items.length -= head;
      this.head = 0;
    }
  }
}
