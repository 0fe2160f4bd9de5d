/**
 * The functions' one outbound HTTP path (OSS, POP RPC, NLS long-text REST, the provider's audio): node:http(s) over
 * kept-alive connection pools shared by every client (a warm instance reuses its TCP and TLS connections), the
 * response as a Node stream (no WHATWG layer: Node's fetch cost a batch item about a tenth of its CPU in a profile),
 * and one timeout while nothing moves, on the request and then on the response as it is read.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

/** A request that got no answer: `code` is the socket's error code (`ETIMEDOUT` when nothing moved in time). */
export class HttpRequestError extends Error {
  override readonly name = "HttpRequestError";
  constructor(
    readonly code: string,
    message: string,
    /** Nothing moved for the timeout (rather than the connection failing). */
    readonly timedOut = false,
  ) {
    super(message);
  }
}

const idleError = (ms: number, what: string): Error =>
  Object.assign(new Error(`${what} for ${ms} ms`), { code: "ETIMEDOUT" });

/**
 * Sends a request; resolves with the response, its body unread, once the status line and headers are in (any status:
 * the caller decides). Redirects are not followed. A response that stops moving for `timeoutMs` is destroyed with an
 * `ETIMEDOUT` error.
 */
export function openRequest(
  target: URL,
  opts: {
    readonly method: "GET" | "HEAD" | "PUT" | "POST" | "DELETE";
    /** The request target as it is to be sent, when `target` gives only the origin (sent as is: never normalised). */
    readonly path?: string;
    readonly headers?: Record<string, string>;
    /** One buffer, or a list sent as they are, one after another (a streamed part's chunks, never copied together). */
    readonly body?: Buffer | readonly Buffer[];
    readonly timeoutMs: number;
  },
): Promise<IncomingMessage> {
  const https = target.protocol === "https:";
  return new Promise((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)(
      target,
      {
        method: opts.method,
        ...(opts.path !== undefined ? { path: opts.path } : {}),
        headers: opts.headers,
        agent: https ? agents.https : agents.http,
        timeout: opts.timeoutMs,
      },
      (res) => {
        res.setTimeout(opts.timeoutMs, () => res.destroy(idleError(opts.timeoutMs, "the answer stopped moving")));
        resolve(res);
      },
    );
    req.on("timeout", () => req.destroy(new HttpRequestError("ETIMEDOUT", `no answer for ${opts.timeoutMs} ms`, true)));
    req.on("error", (error: Error & { code?: string }) =>
      reject(
        error instanceof HttpRequestError ? error : new HttpRequestError(error.code ?? "NetworkError", error.message),
      ),
    );
    if (Array.isArray(opts.body)) {
      for (const chunk of opts.body) req.write(chunk);
      req.end();
    } else req.end(opts.body);
  });
}

/** The bytes of a request body, one buffer or a list. */
export function bodyLength(body: Buffer | readonly Buffer[]): number {
  if (Buffer.isBuffer(body)) return body.length;
  let n = 0;
  for (const chunk of body) n += chunk.length;
  return n;
}

/** A whole (small) response body. */
export async function readBody(res: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** The provider's audio, streamed: a stalled download fails, a long one that keeps moving does not. */
export function openDownload(url: string, opts: { idleTimeoutMs?: number } = {}): Promise<IncomingMessage> {
  return openRequest(new URL(url), { method: "GET", timeoutMs: opts.idleTimeoutMs ?? 120_000 });
}

/**
 * A request to a JSON API (POP RPC, NLS long-text): the status and the body as text. A timeout is
 * `RequestTimeoutError`, as pop-core names it; a connection failure has the socket's code.
 */
export async function requestText(
  url: string | URL,
  opts: {
    readonly method: "GET" | "POST";
    readonly headers?: Record<string, string>;
    readonly body?: string | Buffer;
    readonly timeoutMs: number;
  },
): Promise<{ status: number; text: string }> {
  const body = typeof opts.body === "string" ? Buffer.from(opts.body) : opts.body;
  try {
    const res = await openRequest(typeof url === "string" ? new URL(url) : url, {
      method: opts.method,
      headers: { ...opts.headers, ...(body ? { "content-length": String(body.length) } : {}) },
      body,
      timeoutMs: opts.timeoutMs,
    });
    return { status: res.statusCode ?? 0, text: (await readBody(res)).toString("utf8") };
  } catch (error) {
    const e = error as Error & { code?: string; timedOut?: boolean };
    const timedOut = e.timedOut === true || (!(error instanceof HttpRequestError) && e.code === "ETIMEDOUT");
    throw new HttpRequestError(timedOut ? "RequestTimeoutError" : (e.code ?? "NetworkError"), e.message, timedOut);
  }
}
