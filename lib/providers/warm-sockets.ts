/**
 * WebSocket connections opened before they are needed, so a synthesis starts on a socket whose TCP, TLS and WebSocket
 * handshakes are already done (one to three round trips saved per request). NLS takes one task per connection, as its
 * SDK does: each warm socket is used once. The pool is bounded, a socket idle past `idleMs` is closed (the NLS gateway
 * closes idle connections after 10 s), a socket is checked before use (an FC instance frozen between requests may
 * hold one the far side has dropped), and `flush()` empties it (a refused token).
 */
import type WebSocket from "ws";
import { loadWebSocket, OPEN } from "./ws-loader.js";

export interface WarmSocketsOptions {
  /** Where to connect and with which headers (the token is fetched per connection); without it, `prewarm` opens none. */
  readonly target?: () => Promise<{ readonly url: string; readonly headers: Record<string, string> }>;
  /** Open sockets kept at most (default 2). */
  readonly size?: number;
  /** Close a socket unused for this long (default 8 s: under NLS's 10 s idle limit). */
  readonly idleMs?: number;
  readonly connectTimeoutMs?: number;
}

interface Warm {
  readonly ws: WebSocket;
  readonly openedAt: number;
  readonly timer: NodeJS.Timeout;
}

export class WarmSockets {
  readonly #ready: Warm[] = [];
  #opening = 0;
  /** Takers waiting for a socket that is opening. */
  readonly #waiters: Array<(ws: WebSocket | undefined) => void> = [];
  #generation = 0;
  /** `started`: connections begun; `opened`: those that opened; `used`: handed to a task; `expired`: closed idle. */
  readonly stats = { started: 0, opened: 0, used: 0, expired: 0 };

  constructor(private readonly opts: WarmSocketsOptions) {}

  /**
   * An open socket, or undefined (the caller connects as usual). Each socket is handed out once. When none is ready
   * but one is opening (prewarmed as the request arrived), this waits for it rather than opening a second.
   */
  async take(): Promise<WebSocket | undefined> {
    for (let warm = this.#ready.shift(); warm; warm = this.#ready.shift()) {
      clearTimeout(warm.timer);
      warm.ws.removeAllListeners();
      if (warm.ws.readyState === OPEN && Date.now() - warm.openedAt < (this.opts.idleMs ?? 8000)) {
        this.stats.used++;
        return warm.ws;
      }
      warm.ws.terminate();
    }
    if (this.#opening <= this.#waiters.length) return undefined;
    const ws = await new Promise<WebSocket | undefined>((resolve) => this.#waiters.push(resolve));
    if (ws) this.stats.used++;
    return ws;
  }

  /**
   * Keeps a connection a finished task left open, for the next task (DashScope connections serve many tasks, as its
   * SDKs pool them); closed when the pool is full.
   */
  put(ws: WebSocket): void {
    if (this.#closed || ws.readyState !== OPEN || this.#ready.length >= (this.opts.size ?? 2))
      return void ws.terminate();
    this.#keep(ws);
  }

  /** Opens sockets in the background until `size` are ready or opening. Failures are dropped: the request connects. */
  prewarm(): void {
    if (!this.opts.target || this.#closed) return;
    const size = this.opts.size ?? 2;
    while (this.#ready.length + this.#opening < size) {
      this.#opening++;
      this.stats.started++;
      const generation = this.#generation;
      void this.#open().then((ws) => {
        this.#opening--;
        if (ws) this.stats.opened++;
        const stale = ws !== undefined && generation !== this.#generation;
        if (stale) ws.terminate();
        const waiter = this.#waiters.shift();
        if (waiter) return waiter(stale ? undefined : ws);
        if (!ws || stale) return;
        if (this.#ready.length >= size) return void ws.terminate();
        this.#keep(ws);
      });
    }
  }

  /** Closes every warm socket (a token was refused: the ones opened with it are no good). */
  flush(): void {
    this.#generation++;
    for (const warm of this.#ready.splice(0)) {
      clearTimeout(warm.timer);
      warm.ws.terminate();
    }
  }

  /** Closes every warm socket and opens no more (shutdown): a replacement scheduled after a task's first frame too. */
  close(): void {
    this.#closed = true;
    this.flush();
  }

  #closed = false;

  async #open(): Promise<WebSocket | undefined> {
    try {
      const { url, headers } = await this.opts.target!();
      const WebSocket = await loadWebSocket();
      const ws = new WebSocket(url, {
        headers,
        perMessageDeflate: false,
        handshakeTimeout: this.opts.connectTimeoutMs ?? 10_000,
      });
      return await new Promise<WebSocket | undefined>((resolve) => {
        ws.once("open", () => {
          ws.removeAllListeners();
          resolve(ws);
        });
        ws.once("error", () => resolve(undefined));
        ws.once("unexpected-response", (_req, res) => {
          res.resume();
          ws.terminate();
          resolve(undefined);
        });
      });
    } catch {
      return undefined;
    }
  }

  #keep(ws: WebSocket): void {
    const warm: Warm = {
      ws,
      openedAt: Date.now(),
      timer: setTimeout(() => {
        this.#remove(warm);
        this.stats.expired++;
        ws.terminate();
      }, this.opts.idleMs ?? 8000),
    };
    warm.timer.unref();
    // A warm socket the far side closes, or that errs, leaves the pool at once.
    const drop = (): void => {
      this.#remove(warm);
      clearTimeout(warm.timer);
    };
    ws.once("close", drop);
    ws.on("error", drop);
    this.#ready.push(warm);
  }

  #remove(warm: Warm): void {
    const at = this.#ready.indexOf(warm);
    if (at !== -1) this.#ready.splice(at, 1);
  }
}
