/**
 * One synthesis task over a WebSocket, the part every provider shares: connect with a handshake timeout, an idle
 * timer re-armed by each frame, binary frames queued as audio with backpressure, connection failures and early closes
 * turned into retryable ProviderErrors, and abort. Subclasses say what to send on open and how to read text frames.
 */
import type WebSocket from "ws";
import { type Upstream, UpstreamError } from "../errors.js";
import { type RetryOptions, withRetry } from "../retry.js";
import type * as z from "../zod.js";
import { CONNECTING, loadWebSocket, OPEN, webSocketClass } from "./ws-loader.js";
import { SocketQueue } from "./ws-queue.js";

export interface WsSessionOptions<E> {
  /** The schema of the provider's text frames. */
  readonly events: z.ZodMiniType<E>;
  readonly provider: Upstream;
  /** How messages name the other side: "gateway", "DashScope". */
  readonly peer: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  /** A connection already open (a warm socket): used instead of connecting. */
  readonly socket?: WebSocket;
  readonly connectTimeoutMs?: number;
  readonly idleTimeoutMs: number;
  readonly highWaterMark?: number;
  readonly onBuffered?: (bytes: number) => void;
  readonly signal?: AbortSignal;
  /** The provider's code for a refused upgrade (403 → NLS "403", 401 → DashScope "InvalidApiKey"). */
  readonly refusal: (status: number) => string;
  /** The event whose absence makes a close an error, for the message. */
  readonly completion: string;
  /**
   * Called once, after the first frame has been handed on: for work that should not delay the first audio (opening
   * the next warm socket costs a handshake's CPU).
   */
  readonly afterFirstFrame?: () => void;
}

/** Every provider's audio event has this shape; the rest of T is the provider's own events. */
export type AudioEvent = { readonly type: "audio"; readonly data: Buffer };

export abstract class WsSession<T extends { readonly type: string }, E = unknown> {
  protected readonly ws: WebSocket;
  protected readonly queue: SocketQueue<T>;
  #idle: NodeJS.Timeout | undefined;

  constructor(protected readonly session: WsSessionOptions<E>) {
    const { provider, peer } = session;
    this.ws =
      session.socket ??
      new (webSocketClass())(session.url, {
        headers: session.headers,
        perMessageDeflate: false,
        handshakeTimeout: session.connectTimeoutMs ?? 10_000,
      });
    this.queue = new SocketQueue(this.ws, session.highWaterMark ?? 1024 * 1024, session.onBuffered);
    // Every listener is an error boundary: whatever an upstream sends, a failure ends this session, never the process.
    const opened = (): void => {
      if (this.ws.readyState !== OPEN) return; // closed meanwhile: the close handler reports it
      try {
        this.onOpen();
        this.#armIdle();
      } catch (error) {
        this.#fail(error);
      }
    };
    // A warm socket is open already: start as soon as the subclass has finished constructing (a microtask, not a turn
    // of the event loop).
    if (session.socket) queueMicrotask(opened);
    else this.ws.on("open", opened);
    let first = true;
    this.ws.on("message", (data: Buffer, isBinary) => {
      this.#armIdle();
      if (first) {
        first = false;
        // setImmediate runs after the microtasks that relay this frame.
        if (session.afterFirstFrame) setImmediate(session.afterFirstFrame);
      }
      if (isBinary) return this.queue.push({ type: "audio", data } as AudioEvent as unknown as T, data.length);
      let event: E;
      try {
        event = session.events.parse(JSON.parse(data.toString("utf8")));
      } catch {
        return this.queue.fail(
          new UpstreamError({
            provider,
            code: "InvalidMessage",
            upstreamMessage: `${peer} sent a frame that is not a valid event`,
            retryable: false,
          }),
        );
      }
      try {
        this.onEvent(event);
      } catch (error) {
        this.#fail(error);
      }
    });
    this.ws.on("unexpected-response", (_req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      this.queue.fail(
        new UpstreamError({
          provider,
          code: session.refusal(status),
          upstreamMessage: `${peer} refused the connection: HTTP ${status}`,
          retryable: status >= 500 || status === 429,
        }),
      );
    });
    this.ws.on("error", (error: Error & { code?: string }) => {
      this.queue.fail(
        new UpstreamError({
          provider,
          code: error.code ?? "NetworkError",
          upstreamMessage: `${peer} connection failed: ${error.code ?? error.message}`,
          retryable: true,
          cause: error,
        }),
      );
    });
    this.ws.on("close", (code) => {
      // After the completion event the close is the normal end: no error (and no stack trace) is built for it.
      if (this.queue.finished) return;
      this.queue.fail(
        new UpstreamError({
          provider,
          code: "ConnectionClosed",
          upstreamMessage: `${peer} closed the connection (${code}) before ${session.completion}`,
          retryable: true,
        }),
      );
    });
    session.signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  protected abstract onOpen(): void;
  protected abstract onEvent(event: E): void;

  readonly #onAbort = (): void => {
    this.queue.fail(Object.assign(new Error("synthesis aborted"), { name: "AbortError" }));
    this.close();
  };

  #fail(error: unknown): void {
    this.queue.fail(
      error instanceof UpstreamError
        ? error
        : new UpstreamError({
            provider: this.session.provider,
            code: "InvalidMessage",
            upstreamMessage: `${this.session.peer} sent a frame this client could not handle`,
            retryable: false,
            cause: error,
          }),
    );
    this.close();
  }

  #armIdle(): void {
    clearTimeout(this.#idle);
    this.#idle = setTimeout(() => {
      this.queue.fail(
        new UpstreamError({
          provider: this.session.provider,
          code: "Timeout",
          upstreamMessage: `no frame from ${this.session.peer} for ${this.session.idleTimeoutMs} ms`,
          retryable: true,
        }),
      );
      this.close();
    }, this.session.idleTimeoutMs);
  }

  /** Waits for the first event, so connection and validation failures surface while a retry is still safe. */
  first(): Promise<void> {
    return this.queue.peek();
  }

  events(): AsyncGenerator<T, void, undefined> {
    return this.queue.drain();
  }

  close(): void {
    clearTimeout(this.#idle);
    this.session.signal?.removeEventListener("abort", this.#onAbort);
    if (this.#released) return;
    if (this.ws.readyState === OPEN || this.ws.readyState === CONNECTING) this.ws.terminate();
  }

  #released = false;

  /**
   * Hands the open connection over for another task (a protocol that allows it: DashScope after task-finished): this
   * session lets go of it, and `close()` no longer closes it. Undefined when the connection is not open.
   */
  protected release(): WebSocket | undefined {
    clearTimeout(this.#idle);
    this.session.signal?.removeEventListener("abort", this.#onAbort);
    if (this.ws.readyState !== OPEN) return undefined;
    this.#released = true;
    this.ws.removeAllListeners();
    if (this.ws.isPaused) this.ws.resume();
    return this.ws;
  }
}

/**
 * Opens a session, retrying while nothing has reached the caller (a retry after audio would duplicate it), then
 * yields its events and closes it however the caller leaves. `mapError` may turn a failure into a retryable one.
 */
export async function* runSession<T extends { readonly type: string }, E>(
  open: () => Promise<WsSession<T, E>> | WsSession<T, E>,
  opts: { retry?: RetryOptions; signal?: AbortSignal; mapError?: (error: unknown) => unknown } = {},
): AsyncGenerator<T, void, undefined> {
  await loadWebSocket();
  const session = await withRetry(
    async () => {
      const s = await open();
      try {
        await s.first();
        return s;
      } catch (error) {
        s.close();
        throw opts.mapError ? opts.mapError(error) : error;
      }
    },
    { attempts: 3, baseMs: 200, ...opts.retry, signal: opts.signal },
  );
  try {
    yield* session.events();
  } finally {
    session.close();
  }
}
