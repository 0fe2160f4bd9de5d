/**
 * One POST to a user's webhook, through node:http(s) so that every address it connects to is checked: a literal IP
 * before connecting, a host name as it is resolved (see public-address.ts). Redirects are never followed.
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { guardedLookup, isPublicAddress, literalAddress } from "./public-address.js";

export interface WebhookPost {
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly timeoutMs: number;
  /**
   * The whole exchange's deadline, connection to status line: a receiver that trickles a byte at a time never trips
   * the idle timeout, so it meets this one (issue 26, defect 9). Defaults to `timeoutMs`.
   */
  readonly deadlineMs?: number;
  /** Which addresses may be reached; public unicast only unless the deployment allows more. */
  readonly allow?: (address: string) => boolean;
}

export class UnsafeAddressError extends Error {
  override name = "UnsafeAddressError";
}

/** POSTs and resolves with the status code; rejects on a refused address, a network failure or the timeout. */
export function postWebhook(url: string, opts: WebhookPost): Promise<number> {
  const target = new URL(url);
  const allow = opts.allow ?? isPublicAddress;
  const literal = literalAddress(target.hostname);
  if (literal !== undefined && !allow(literal))
    return Promise.reject(new UnsafeAddressError(`${literal} is not a public address`));
  const request = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: "POST",
        headers: { ...opts.headers, "content-length": String(Buffer.byteLength(opts.body)) },
        lookup: guardedLookup(allow),
        timeout: opts.timeoutMs,
        agent: false,
      },
      (res) => {
        clearTimeout(deadline);
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on("timeout", () =>
      req.destroy(
        Object.assign(new Error(`webhook did not answer within ${opts.timeoutMs} ms`), { name: "TimeoutError" }),
      ),
    );
    const deadlineMs = opts.deadlineMs ?? opts.timeoutMs;
    const deadline = setTimeout(
      () =>
        req.destroy(
          Object.assign(new Error(`webhook did not finish answering within ${deadlineMs} ms`), {
            name: "TimeoutError",
          }),
        ),
      deadlineMs,
    );
    req.on("close", () => clearTimeout(deadline));
    req.on("error", (error) =>
      reject(
        (error as NodeJS.ErrnoException).code === "EADDRNOTPUBLIC" ? new UnsafeAddressError(error.message) : error,
      ),
    );
    req.end(opts.body);
  });
}
