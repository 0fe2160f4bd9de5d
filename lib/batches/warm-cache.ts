/**
 * What a warm instance keeps of a running batch (its manifest, its item specs): values that never change while the batch
 * runs, bounded in number, and loaded once however many callers ask at the same moment. A batch's first wave asks for
 * them from every dispatched item together; without the shared load, each of them read the same object (16 reads of
 * a 360 KB spec list at concurrency 16, each decoded and parsed).
 */
export class WarmCache<T> {
  readonly #entries = new Map<string, Promise<T | undefined>>();

  constructor(private readonly limit: number) {}

  /** The value under `key`, loaded by `load` when absent. A load that fails or finds nothing is not kept. */
  get(key: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    const kept = this.#entries.get(key);
    if (kept) return kept;
    const loading = load().then(
      (value) => {
        if (value === undefined) this.#forget(key, loading);
        return value;
      },
      (error: unknown) => {
        this.#forget(key, loading);
        throw error;
      },
    );
    if (this.#entries.size >= this.limit) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, loading);
    return loading;
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  #forget(key: string, loading: Promise<T | undefined>): void {
    if (this.#entries.get(key) === loading) this.#entries.delete(key);
  }
}
