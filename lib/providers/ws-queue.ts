/**
 * The queue between a WebSocket and the code iterating its events: items in arrival order, one terminal item
 * (end or error), and backpressure by pausing the socket while too many audio bytes wait for the consumer.
 */
import type WebSocket from "ws";

type Item<T> =
  | { readonly kind: "item"; readonly value: T; readonly bytes: number }
  | { readonly kind: "end" }
  | { readonly kind: "error"; readonly error: Error };

export class SocketQueue<T> {
  readonly #items: Array<Item<T>> = [];
  #bytes = 0;
  #wake: (() => void) | undefined;
  #finished = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly highWaterMark: number,
    private readonly onBuffered?: (bytes: number) => void,
  ) {}

  get finished(): boolean {
    return this.#finished;
  }

  /** Queues an event; `bytes` counts toward the high-water mark (audio), 0 for control events. */
  push(value: T, bytes = 0): void {
    if (this.#finished) return;
    this.#enqueue({ kind: "item", value, bytes });
    if (bytes > 0) {
      this.#bytes += bytes;
      this.onBuffered?.(this.#bytes);
      // Stop reading from the socket while the consumer is behind; TCP then slows the sender.
      if (this.#bytes > this.highWaterMark && !this.ws.isPaused) this.ws.pause();
    }
  }

  end(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#enqueue({ kind: "end" });
  }

  fail(error: Error): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#enqueue({ kind: "error", error });
    this.#failed?.(error);
  }

  #failed: ((error: Error) => void) | undefined;

  /** Resolves with the error the queue fails with (never, if it ends well): for a wait on something besides items. */
  readonly failure: Promise<Error> = new Promise((resolve) => {
    this.#failed = resolve;
  });

  #enqueue(item: Item<T>): void {
    this.#items.push(item);
    this.#wake?.();
    this.#wake = undefined;
  }

  async #take(): Promise<Item<T>> {
    while (this.#items.length === 0) await new Promise<void>((resolve) => (this.#wake = resolve));
    const item = this.#items.shift()!;
    if (item.kind === "item" && item.bytes > 0) {
      this.#bytes -= item.bytes;
      if (this.ws.isPaused && this.#bytes <= this.highWaterMark / 2) this.ws.resume();
    }
    return item;
  }

  /** Waits for the first item without consuming it; throws if the queue failed before anything arrived. */
  async peek(): Promise<void> {
    const item = await this.#take();
    this.#items.unshift(item);
    if (item.kind === "item") this.#bytes += item.bytes;
    if (item.kind === "error") throw item.error;
  }

  async *drain(): AsyncGenerator<T, void, undefined> {
    for (;;) {
      const item = await this.#take();
      if (item.kind === "end") return;
      if (item.kind === "error") throw item.error;
      yield item.value;
    }
  }
}
