/**
 * One upstream byte stream shared by any number of readers (identical requests arriving together).
 * The upstream is pulled only when a reader needs a chunk nobody has yet, so a lone slow reader slows it; chunks are
 * kept until the end so late readers start from the first byte and the whole result can be cached. When every
 * reader has left before the end, the upstream is closed.
 */
export class SharedStream {
  readonly #chunks: Uint8Array[] = [];
  #done = false;
  #error: unknown;
  #pulling: Promise<void> | undefined;
  #readers = 0;
  #closed = false;
  readonly finished: Promise<Uint8Array[] | undefined>;
  #finish!: (chunks: Uint8Array[] | undefined) => void;

  /** `abort` stops an upstream that may be waiting for data, where `return()` would queue behind the pending read. */
  constructor(
    private readonly upstream: AsyncIterator<Uint8Array>,
    private readonly abort: () => void = () => undefined,
  ) {
    this.finished = new Promise((resolve) => (this.#finish = resolve));
  }

  /** Waits for the first chunk, so an upstream failure before any audio can still become a clean error. */
  async ready(): Promise<void> {
    await this.#ensure(0);
  }

  async *reader(): AsyncGenerator<Uint8Array, void, undefined> {
    this.#readers++;
    let i = 0;
    try {
      for (;;) {
        await this.#ensure(i);
        if (i < this.#chunks.length) yield this.#chunks[i++]!;
        else if (this.#error !== undefined) throw this.#error;
        else return;
      }
    } finally {
      this.#readers--;
      if (this.#readers === 0 && !this.#done) await this.#close();
    }
  }

  async #ensure(i: number): Promise<void> {
    while (i >= this.#chunks.length && !this.#done) {
      this.#pulling ??= this.#pull().finally(() => (this.#pulling = undefined));
      await this.#pulling;
    }
  }

  async #pull(): Promise<void> {
    try {
      const { value, done } = await this.upstream.next();
      if (done) this.#end(undefined);
      else this.#chunks.push(value);
    } catch (error) {
      this.#end(error);
    }
  }

  #end(error: unknown): void {
    this.#done = true;
    this.#error = error;
    this.#finish(error === undefined && !this.#closed ? this.#chunks : undefined);
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#done = true;
    this.#finish(undefined);
    this.abort();
    await this.upstream.return?.();
  }
}
