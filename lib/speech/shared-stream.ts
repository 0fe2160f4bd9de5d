/**
 * One upstream byte stream shared by any number of readers (identical requests arriving together).
 * The upstream is pulled only when a reader needs a chunk nobody has yet, so a lone slow reader slows it. Chunks are
 * kept so late readers start from the first byte and the whole result can be cached, up to `maxKeep` bytes: past
 * that the stream stops being shared (no new readers, no cache copy) and keeps only what a reader has yet to read, so
 * memory per stream does not grow with its length. When every reader has left before the end, the upstream is closed.
 */

/** Kept for late readers and the cache copy: 8 MiB, minutes of MP3 or about 4 minutes of 16 kHz PCM. */
export const SHARED_KEEP_BYTES = 8 * 1024 * 1024;

export class SharedStream {
  /** Chunks from index `#base` on (earlier ones were read by every reader and dropped). */
  readonly #chunks: Uint8Array[] = [];
  #base = 0;
  #kept = 0;
  #shared = true;
  #done = false;
  #error: unknown;
  #pulling: Promise<void> | undefined;
  readonly #readers = new Set<{ at: number }>();
  #closed = false;
  readonly finished: Promise<Uint8Array[] | undefined>;
  #finish!: (chunks: Uint8Array[] | undefined) => void;

  /** `abort` stops an upstream that may be waiting for data, where `return()` would queue behind the pending read. */
  constructor(
    private readonly upstream: AsyncIterator<Uint8Array>,
    private readonly abort: () => void = () => undefined,
    private readonly maxKeep = SHARED_KEEP_BYTES,
    /** Called once when the stream stops being shared (it outgrew `maxKeep`). */
    private readonly onUnshared: () => void = () => undefined,
  ) {
    this.finished = new Promise((resolve) => (this.#finish = resolve));
  }

  /** Bytes held now: everything while shared, then only what a reader has yet to read. */
  get keptBytes(): number {
    return this.#kept;
  }

  /** Whether a new reader may still join (from the first byte). */
  get joinable(): boolean {
    return this.#shared && !this.#closed;
  }

  /** Waits for the first chunk, so an upstream failure before any audio can still become a clean error. */
  async ready(): Promise<void> {
    await this.#ensure(0);
  }

  /** A reader from the first byte; only while `joinable`. */
  reader(): AsyncGenerator<Uint8Array, void, undefined> {
    if (!this.joinable) throw new Error("this stream is no longer shared: start another");
    const position = { at: 0 };
    this.#readers.add(position);
    return this.#read(position);
  }

  async *#read(position: { at: number }): AsyncGenerator<Uint8Array, void, undefined> {
    try {
      for (;;) {
        await this.#ensure(position.at);
        if (position.at < this.#base + this.#chunks.length) {
          const chunk = this.#chunks[position.at - this.#base]!;
          position.at++;
          this.#trim();
          yield chunk;
        } else if (this.#error !== undefined) throw this.#error;
        else return;
      }
    } finally {
      this.#readers.delete(position);
      this.#trim();
      if (this.#readers.size === 0 && !this.#done) await this.#close();
    }
  }

  async #ensure(i: number): Promise<void> {
    while (i >= this.#base + this.#chunks.length && !this.#done) {
      this.#pulling ??= this.#pull().finally(() => (this.#pulling = undefined));
      await this.#pulling;
    }
  }

  async #pull(): Promise<void> {
    try {
      const { value, done } = await this.upstream.next();
      if (done) return this.#end(undefined);
      this.#chunks.push(value);
      this.#kept += value.length;
      if (this.#shared && this.#kept > this.maxKeep) {
        this.#shared = false;
        this.#finish(undefined);
        this.onUnshared();
      }
    } catch (error) {
      this.#end(error);
    }
  }

  /** Once unshared, drops the chunks every reader has passed. */
  #trim(): void {
    if (this.#shared) return;
    let lowest = this.#base + this.#chunks.length;
    for (const r of this.#readers) lowest = Math.min(lowest, r.at);
    while (this.#base < lowest) {
      this.#kept -= this.#chunks.shift()!.length;
      this.#base++;
    }
  }

  #end(error: unknown): void {
    this.#done = true;
    this.#error = error;
    this.#finish(error === undefined && !this.#closed && this.#shared ? this.#chunks : undefined);
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#done = true;
    this.#finish(undefined);
    this.abort();
    await this.upstream.return?.();
  }
}
