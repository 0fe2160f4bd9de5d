/**
 * What Function Compute's front end does before a function sees a request: a function whose instance could not start
 * answers FunctionNotStarted; a custom runtime's requests over the body limit are refused, and every request it does
 * see carries the role's current credentials in FC's headers.
 */
import type { IncomingMessage } from "node:http";
import { credentialHeaders } from "../../functions/_fc/context.js";
import type { Credentials } from "../../lib/credentials.js";
import type { LocalFunction } from "./host.js";

/** A function whose instance could not start: every request and invocation gets FC's FunctionNotStarted. */
export function notStarted(paths: readonly string[] | undefined, reason: string): LocalFunction {
  const body = JSON.stringify({ Code: "FunctionNotStarted", Message: reason });
  return {
    paths,
    request: (_req, res) => void res.writeHead(502, { "content-type": "application/json" }).end(body),
    upgrade: (_req, socket) => {
      socket.end(
        `HTTP/1.1 502 Bad Gateway\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
      return true;
    },
    invoke: () => Promise.reject(Object.assign(new Error(reason), { code: "FunctionNotStarted" })),
  };
}

/** The body limit of a synchronous invocation through an HTTP trigger: FC refuses a larger request. */
const HTTP_BODY_LIMIT = 32 * 1024 * 1024;

/**
 * A custom runtime's server behind FC's front end: requests over the body limit are refused before the function sees
 * them, and every request it does see carries the role's current credentials in FC's headers.
 */
export function customRuntime(fn: LocalFunction, credentials: () => Credentials | undefined): LocalFunction {
  const stamp = (req: IncomingMessage): void => {
    const c = credentials();
    if (!c) return;
    for (const [name, value] of Object.entries(credentialHeaders(c))) {
      req.headers[name] = value;
      req.rawHeaders.push(name, value);
    }
  };
  return {
    ...fn,
    request: (req, res) => {
      if (Number(req.headers["content-length"] ?? 0) > HTTP_BODY_LIMIT) {
        req.resume();
        return void res
          .writeHead(413, { "content-type": "application/json", connection: "close" })
          .end('{"Code":"EntityTooLarge","Message":"payload size exceeds maximum allowed size (32 MB)"}');
      }
      stamp(req);
      fn.request?.(req, res);
    },
    upgrade: (req, socket, head) => {
      stamp(req);
      return fn.upgrade?.(req, socket, head) ?? false;
    },
  };
}
