/**
 * Error boundaries for the entries Node calls us from (request and upgrade listeners, WebSocket message handlers,
 * timers). An exception there is not ours to rethrow: it would reach the process as an uncaught exception or an
 * unhandled rejection and end every other session on the instance. Each boundary logs and lets the caller answer.
 */
import type { IncomingMessage } from "node:http";
import type { Logger } from "../log.js";

/**
 * Wraps a listener so that neither a synchronous throw nor a rejected promise escapes it: the error is logged and
 * handed to `onError` (which answers the client: a 400, a failure frame, a close), itself guarded.
 */
export function guarded<A extends unknown[]>(
  log: Logger,
  what: string,
  fn: (...args: A) => unknown,
  onError: (error: unknown, ...args: A) => void = () => undefined,
): (...args: A) => void {
  const fail = (error: unknown, args: A): void => {
    log.error(`${what} failed`, { error });
    try {
      onError(error, ...args);
    } catch (inner) {
      log.error(`${what} failed, and so did answering it`, { error: inner });
    }
  };
  return (...args: A) => {
    try {
      const result = fn(...args);
      if (result instanceof Promise) result.catch((error: unknown) => fail(error, args));
    } catch (error) {
      fail(error, args);
    }
  };
}

const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** The host a client named, when it is a syntactically valid one; `fallback` otherwise (a Host header is client text). */
export function safeHost(host: string | undefined, fallback: string): string {
  return host && HOST.test(host) ? host : fallback;
}

/**
 * The URL a request addresses, or undefined when its target cannot be one. Accepts origin-form (`/path?q`) and
 * absolute-form (`http://host/path`, which RFC 9112 §3.2.2 says a server must accept) targets; the `Host` header is
 * used only when it is a syntactically valid host, since it comes from the client verbatim.
 */
export function requestUrl(req: Pick<IncomingMessage, "url" | "headers">): URL | undefined {
  const raw = req.url ?? "/";
  const host = safeHost(req.headers.host, "localhost");
  try {
    if (raw.startsWith("/")) return new URL(`http://${host}${raw}`);
    if (/^https?:\/\//i.test(raw)) {
      const absolute = new URL(raw);
      return new URL(`http://${safeHost(absolute.host, host)}${absolute.pathname}${absolute.search}`);
    }
  } catch {
    // An unparseable target: the caller answers 400.
  }
  return undefined;
}

/** Headers as WHATWG Headers, leaving out any value Headers refuses instead of throwing on it. */
export function headersOf(req: Pick<IncomingMessage, "headers">): Headers {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    try {
      headers.set(k, Array.isArray(v) ? v.join(", ") : v);
    } catch {
      // Node's parser admits bytes Headers does not; such a header is dropped, never fatal.
    }
  }
  return headers;
}

/** A complete raw HTTP answer for a socket we will not upgrade (used before any WebSocket exists). */
export function rawHttpError(status: 400 | 401 | 404 | 413 | 500 | 503, code: string, message: string): string {
  const reason = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    413: "Payload Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
  }[status];
  const body = JSON.stringify({ error: { code, message } });
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}
