/** Serves a Router from a Node HTTP server: request to WHATWG Request, Response back with backpressure and abort. */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { InputError } from "../errors.js";
import type { Logger } from "../log.js";
import { guarded, headersOf, requestUrl } from "./boundary.js";
import { errorResponse } from "./response.js";
import type { Router } from "./router.js";

/**
 * Answers `error` on a Node response as its JSON error (4xx naming what the request did wrong, 500 for what we did),
 * with `headers` beside the error's own; a response already begun is aborted instead, so the client sees a truncated
 * transfer.
 */
export async function writeError(
  res: ServerResponse,
  error: unknown,
  log: Logger,
  headers: Record<string, string> = {},
): Promise<void> {
  if (res.headersSent) return void res.destroy();
  const response = errorResponse(error, log);
  const out = { ...headers };
  response.headers.forEach((v, k) => {
    out[k] = v;
  });
  await response.text().then(
    (body) => void res.writeHead(response.status, out).end(body),
    () => void res.destroy(),
  );
}

/** The WHATWG Request for a Node request; an InputError (answered 400) when its target or method cannot be one. */
export function toRequest(req: IncomingMessage, signal: AbortSignal): Request {
  const url = requestUrl(req);
  if (!url)
    throw new InputError("request-target", "is not an origin-form path or an absolute http(s) URL", {
      code: "BadRequest",
    });
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  try {
    return new Request(url, {
      method: req.method,
      headers: headersOf(req),
      signal,
      ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: "half" } : {}),
    } as RequestInit);
  } catch {
    // Request refuses some methods Node's parser admits (TRACE, TRACK, CONNECT).
    throw new InputError("method", `${String(req.method).slice(0, 16)} is not supported`, {
      statusCode: 405,
      code: "MethodNotAllowed",
    });
  }
}

/**
 * A Node request listener serving `router`, inside an error boundary: whatever a request carries, it is answered
 * (4xx for what it did wrong, 500 for what we did), and no error leaves the listener.
 */
export function nodeHandler(router: Router): (req: IncomingMessage, res: ServerResponse) => void {
  const answer = (error: unknown, _req: IncomingMessage, res: ServerResponse): void =>
    void writeError(res, error, router.log, { connection: "close" });
  return guarded(
    router.log,
    "http request",
    async (req: IncomingMessage, res: ServerResponse) => {
      const aborted = new AbortController();
      // 'close' on the response fires when the client leaves before the end, too.
      res.on("close", () => {
        if (!res.writableFinished) aborted.abort(new Error("client disconnected"));
      });
      let request: Request;
      try {
        request = toRequest(req, aborted.signal);
      } catch (error) {
        req.resume(); // the body of a refused request is drained, not buffered
        return answer(error, req, res);
      }
      const response = await router.handle(request, { signal: aborted.signal });
      await writeResponse(res, response, aborted.signal, req.method === "HEAD");
    },
    answer,
  );
}

export async function writeResponse(
  res: ServerResponse,
  response: Response,
  signal: AbortSignal,
  head = false,
): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((v, k) => {
    headers[k] = v;
  });
  res.writeHead(response.status, headers);
  if (!response.body || head) {
    res.end();
    await response.body?.cancel();
    return;
  }
  res.flushHeaders();
  const reader = response.body.getReader();
  await writeChunks(
    res,
    () => reader.read(),
    () => reader.cancel(),
    signal,
  );
}

/**
 * Writes a body to a Node response as it comes: each chunk at once, waiting for the socket (not buffering) when the
 * client is slow; `signal` (the client leaving) stops the source; a failure mid-stream aborts the response, so the
 * client sees a truncated transfer, not a clean end.
 */
export async function writeChunks(
  res: ServerResponse,
  next: () => Promise<IteratorResult<Uint8Array>>,
  stop: () => Promise<unknown> | undefined,
  signal: AbortSignal,
  /**
   * How long a client may read nothing (the socket staying full) before the response is closed, with its upstream:
   * 30 s, as on the WebSocket endpoints. A stalled stream otherwise pinned its buffers and its provider task for
   * ever (issue 26, defect 8).
   */
  stallMs = 30_000,
): Promise<void> {
  const onAbort = (): void => void stop()?.catch(() => undefined);
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    for (;;) {
      if (signal.aborted) return;
      const { value, done } = await next();
      if (done) break;
      if (!res.write(value) && !(await drainOrClose(res, stallMs))) {
        res.destroy(new Error(`the client read nothing for ${stallMs} ms`));
        await stop()?.catch(() => undefined);
        return;
      }
      if (signal.aborted) return;
    }
    res.end();
  } catch {
    res.destroy();
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/**
 * Resolves true when the socket drains or the response closes, false when neither happens within `stallMs`; no
 * listener or timer is left behind (a long slow stream waits often).
 */
function drainOrClose(res: ServerResponse, stallMs: number): Promise<boolean> {
  // Closed already (the client left before this write): nothing will drain, and no 'close' is coming again.
  if (res.destroyed || res.closed) return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    const finish = (drained: boolean): void => {
      clearTimeout(timer);
      res.off("drain", done);
      res.off("close", done);
      resolve(drained);
    };
    const done = (): void => finish(true);
    const timer = setTimeout(() => finish(false), stallMs);
    res.on("drain", done);
    res.on("close", done);
  });
}
