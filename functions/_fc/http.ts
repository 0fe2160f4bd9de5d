/**
 * FC 3.0's HTTP trigger for built-in runtimes (facts §1.2/§1.3): the event becomes a WHATWG Request, the Router
 * answers, and the Response becomes FC's {statusCode, headers, isBase64Encoded, body}. Hono's adapter pattern.
 */
import { InputError } from "../../lib/errors.js";
import { safeHost } from "../../lib/http/boundary.js";
import { errorResponse } from "../../lib/http/response.js";
import type { Router } from "../../lib/http/router.js";
import { type FcHttpEvent, FcHttpEventSchema, unwrap } from "./events.js";

export interface FcHttpResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly isBase64Encoded: boolean;
  readonly body: string;
}

export function toRequest(event: FcHttpEvent): Request {
  const query = new URLSearchParams(event.queryParameters).toString();
  const host = safeHost(event.headers.host, safeHost(event.requestContext.domainName, "fc.local"));
  const method = event.requestContext.http.method.toUpperCase();
  const body =
    event.body === undefined || method === "GET" || method === "HEAD"
      ? undefined
      : event.isBase64Encoded
        ? Buffer.from(event.body, "base64")
        : event.body;
  // rawPath is the client's raw target path: one that is not a path (or an unknown method) is the client's error.
  let url: URL;
  try {
    url = new URL(
      `https://${host}${event.rawPath.startsWith("/") ? event.rawPath : `/${event.rawPath}`}${query ? `?${query}` : ""}`,
    );
  } catch {
    throw new InputError("request-target", "is not a valid path", { code: "BadRequest" });
  }
  try {
    return new Request(url, { method, headers: event.headers, body });
  } catch {
    throw new InputError("method", `${method.slice(0, 16)} is not supported, or a header is malformed`, {
      statusCode: 405,
      code: "MethodNotAllowed",
    });
  }
}

const TEXTUAL = /^(text\/|application\/(json|xml|javascript)|application\/[\w.+-]+\+(json|xml))/;

export async function toFcResponse(response: Response): Promise<FcHttpResponse> {
  const headers: Record<string, string> = {};
  response.headers.forEach((v, k) => {
    headers[k] = v;
  });
  const bytes = Buffer.from(await response.arrayBuffer());
  const textual = TEXTUAL.test(headers["content-type"] ?? "text/plain");
  return {
    statusCode: response.status,
    headers,
    isBase64Encoded: !textual,
    body: textual ? bytes.toString("utf8") : bytes.toString("base64"),
  };
}

/**
 * A built-in-runtime handler serving `router`; the router is built on first use, once per instance. `gate` sees the
 * headers and URL before the body is decoded or parsed (FC has already read it: a function cannot refuse sooner) and
 * refuses by throwing: the credential check, so nobody without one costs more than the event's own bytes.
 */
export function fcHttpHandler(
  router: () => Router,
  gate?: (headers: Headers, url: URL) => void,
): (event: unknown, context?: { requestId?: string }) => Promise<FcHttpResponse> {
  return async (event, context) => {
    const parsed = unwrap(event, FcHttpEventSchema);
    const requestId = context?.requestId ?? parsed.requestContext.requestId;
    if (gate) {
      try {
        const query = new URLSearchParams(parsed.queryParameters).toString();
        const path = parsed.rawPath.startsWith("/") ? parsed.rawPath : `/${parsed.rawPath}`;
        gate(new Headers(parsed.headers), new URL(`https://fc.local${encodeURI(path)}${query ? `?${query}` : ""}`));
      } catch (error) {
        const refused = errorResponse(error, router().log.child({ requestId }));
        if (requestId) refused.headers.set("x-request-id", requestId);
        return toFcResponse(refused);
      }
    }
    let request: Request;
    try {
      request = toRequest(parsed);
    } catch (error) {
      return toFcResponse(errorResponse(error, router().log.child({ requestId })));
    }
    return toFcResponse(await router().handle(request, { requestId }));
  };
}
