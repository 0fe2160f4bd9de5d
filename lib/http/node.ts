/** Serves a Router from a Node HTTP server: request to WHATWG Request, Response back with backpressure and abort. */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import type { Router } from "./router.js";

export function toRequest(req: IncomingMessage, signal: AbortSignal): Request {
  const host = req.headers.host ?? "localhost";
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  return new Request(`http://${host}${req.url ?? "/"}`, {
    method: req.method,
    headers,
    signal,
    ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: "half" } : {}),
  } as RequestInit);
}

export function nodeHandler(router: Router): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const aborted = new AbortController();
    // 'close' on the response fires when the client leaves before the end, too.
    res.on("close", () => {
      if (!res.writableFinished) aborted.abort(new Error("client disconnected"));
    });
    const response = await router.handle(toRequest(req, aborted.signal), { signal: aborted.signal });
    await writeResponse(res, response, aborted.signal, req.method === "HEAD");
  };
}

export async function writeResponse(res: ServerResponse, response: Response, signal: AbortSignal, head = false): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((v, k) => (headers[k] = v));
  res.writeHead(response.status, headers);
  if (!response.body || head) {
    res.end();
    await response.body?.cancel();
    return;
  }
  res.flushHeaders();
  const reader = response.body.getReader();
  const onAbort = (): void => void reader.cancel().catch(() => undefined);
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      // Each chunk goes out at once; when the client is slow, wait for the socket instead of buffering.
      if (!res.write(value)) await new Promise<void>((resolve) => res.once("drain", resolve).once("close", resolve));
      if (signal.aborted) return;
    }
    res.end();
  } catch {
    // The body failed mid-stream: abort the response so the client sees a truncated transfer, not a clean end.
    res.destroy();
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}
