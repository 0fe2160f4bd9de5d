/**
 * A streamed GET for copying a provider's audio: node:http(s) with kept-alive connections, the body as a Node stream
 * (no WHATWG stream in between, which cost the copy a conversion per chunk), redirects refused (an audio address
 * that redirects elsewhere is not followed past the allowed hosts), and an idle timeout: a stalled download fails, a
 * long one that keeps moving does not.
 */
import type { IncomingMessage } from "node:http";
import { transportFor } from "./agents.js";

/** Opens `url`; resolves once the status line and headers are in (any status: the caller decides). */
export function openDownload(url: string, opts: { idleTimeoutMs?: number } = {}): Promise<IncomingMessage> {
  const target = new URL(url);
  const { agent, request } = transportFor(target);
  const idle = opts.idleTimeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    const req = request(target, { method: "GET", agent, timeout: idle }, (res) => {
      res.setTimeout(idle, () =>
        res.destroy(Object.assign(new Error(`the download sent nothing for ${idle} ms`), { code: "ETIMEDOUT" })),
      );
      resolve(res);
    });
    req.on("timeout", () => req.destroy(Object.assign(new Error(`no answer for ${idle} ms`), { code: "ETIMEDOUT" })));
    req.on("error", reject);
    req.end();
  });
}
