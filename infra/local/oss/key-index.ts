/**
 * A bucket's objects by key, with the keys also kept in order, so a listing costs a binary search and the page it
 * returns, as OSS's own listing does, not a sort of the whole bucket. (A 10,000-item batch leaves about 100,000
 * objects; sorting them all for each 40-key listing of the budget's leases made the emulator the bench's bound.)
 */
export class KeyIndex<V> {
  readonly #values = new Map<string, V>();
  /** Every key, in the order a listing returns them (JavaScript's string order, as `Array#sort` gives). */
  readonly #sorted: string[] = [];

  get size(): number {
    return this.#values.size;
  }

  get(key: string): V | undefined {
    return this.#values.get(key);
  }

  has(key: string): boolean {
    return this.#values.has(key);
  }

  set(key: string, value: V): void {
    if (!this.#values.has(key)) this.#sorted.splice(this.#lowerBound(key), 0, key);
    this.#values.set(key, value);
  }

  /** Adds many at once (a restart's objects from disk): one sort, not an insertion per key. */
  load(entries: Iterable<readonly [string, V]>): void {
    for (const [key, value] of entries) {
      if (!this.#values.has(key)) this.#sorted.push(key);
      this.#values.set(key, value);
    }
    this.#sorted.sort();
  }

  delete(key: string): boolean {
    if (!this.#values.delete(key)) return false;
    this.#sorted.splice(this.#lowerBound(key), 1);
    return true;
  }

  /** Keys starting with `prefix` and greater than `after`, in order. */
  *keysFrom(prefix: string, after: string): Generator<string> {
    const start = after >= prefix ? this.#upperBound(after) : this.#lowerBound(prefix);
    for (let i = start; i < this.#sorted.length; i++) {
      const key = this.#sorted[i]!;
      if (!key.startsWith(prefix)) return;
      yield key;
    }
  }

  /** The last key starting with `prefix` (the end of a common prefix's run), or undefined. */
  lastWithPrefix(prefix: string): string | undefined {
    // Keys before `prefix` and keys starting with it come first, in one run: the position after it.
    let lo = 0;
    let hi = this.#sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const key = this.#sorted[mid]!;
      if (key < prefix || key.startsWith(prefix)) lo = mid + 1;
      else hi = mid;
    }
    const key = this.#sorted[lo - 1];
    return key?.startsWith(prefix) ? key : undefined;
  }

  /** The first position whose key is not less than `key`. */
  #lowerBound(key: string): number {
    let lo = 0;
    let hi = this.#sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#sorted[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The first position whose key is greater than `key`. */
  #upperBound(key: string): number {
    let lo = 0;
    let hi = this.#sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#sorted[mid]! <= key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
