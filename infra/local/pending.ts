/** Work under way in the local stack (async invocations, provider tasks and their callbacks) that tests wait for. */
export class PendingWork {
  readonly #set = new Set<Promise<unknown>>();

  track(work: Promise<unknown>): void {
    this.#set.add(work);
    void work.finally(() => this.#set.delete(work));
  }

  /** Resolves when nothing is under way, including work added meanwhile; true when there was any to wait for. */
  async idle(): Promise<boolean> {
    const waited = this.#set.size > 0;
    while (this.#set.size > 0) await Promise.all([...this.#set]);
    return waited;
  }
}
