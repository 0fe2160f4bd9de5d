/**
 * Serves a built-in-runtime HTTP handler locally the way FC 3.0 does (facts §1.2/§1.3): the Node request becomes the
 * JSON event (body Base64-encoded unless it is text), the handler's {statusCode, headers, isBase64Encoded, body} the
 * response.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FcContext } from "../../functions/_fc/context.js";
import type { FcHttpResponse } from "../../functions/_fc/http.js";
import { requestUrl } from "../../lib/http/boundary.js";
import { readBody } from "./http-util.js";

export type FcHttpHandler = (event: Buffer, context: FcContext) => Promise<FcHttpResponse>;

const MAX_HEADERS = 8 * 1024;
const MAX_PATH = 4 * 1024;
const MAX_BODY = 32 * 1024 * 1024;

/** Which of FC's request limits (HTTP/HTTPS protocol limits of HTTP triggers) a request breaks, judged before its body. */
function fcLimitBroken(req: IncomingMessage): { status: number; code: string; message: string } | undefined {
  let headerBytes = 0;
  for (let i = 0; i < req.rawHeaders.length; i++) headerBytes += Buffer.byteLength(req.rawHeaders[i]!);
  if (headerBytes > MAX_HEADERS)
    return {
      status: 400,
      code: "InvalidArgument",
      message: `headers are ${headerBytes} bytes; at most ${MAX_HEADERS} are accepted`,
    };
  if (Buffer.byteLength(req.url ?? "") > MAX_PATH)
    return { status: 400, code: "InvalidArgument", message: `the path is over ${MAX_PATH} bytes` };
  if (Number(req.headers["content-length"] ?? 0) > MAX_BODY)
    return { status: 413, code: "EntityTooLarge", message: "payload size exceeds maximum allowed size (32 MB)" };
  return undefined;
}

const TEXT = /^(text\/|application\/(json|x-www-form-urlencoded|xml))/;

/** `context` gives what FC adds to each invocation's context besides the request id: the role's current credentials. */
export function serveFcHttp(
  handler: FcHttpHandler,
  context: () => Omit<FcContext, "requestId"> = () => ({}),
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) =>
    void (async () => {
      const url = requestUrl(req);
      if (!url)
        return void res
          .writeHead(400, { "content-type": "application/json", connection: "close" })
          .end(
            '{"error":{"code":"BadRequest","message":"the request target is not a path or an absolute http(s) URL"}}',
          );
      // FC's limits for an HTTP trigger: headers 8 KB (keys and values), path 4 KB with the query, body 32 MB for a
      // synchronous invocation. The platform refuses a request beyond them; it never reaches the function.
      const refused = fcLimitBroken(req);
      if (refused) {
        req.resume();
        return void res
          .writeHead(refused.status, { "content-type": "application/json", connection: "close" })
          .end(JSON.stringify({ error: { code: refused.code, message: refused.message } }));
      }
      const body = req.method === "GET" || req.method === "HEAD" ? Buffer.alloc(0) : await readBody(req, MAX_BODY);
      const textual = TEXT.test(String(req.headers["content-type"] ?? ""));
      const requestId = `1-${randomUUID()}`;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(",") : v;
      const event = {
        version: "v1",
        rawPath: url.pathname,
        body: body.length === 0 ? undefined : textual ? body.toString("utf8") : body.toString("base64"),
        isBase64Encoded: body.length > 0 && !textual,
        headers,
        queryParameters: Object.fromEntries(url.searchParams),
        requestContext: {
          requestId,
          domainName: headers.host ?? "localhost",
          http: {
            method: req.method ?? "GET",
            path: decodedPath(url.pathname),
            protocol: "HTTP/1.1",
            sourceIp: req.socket.remoteAddress ?? "",
          },
        },
      };
      const out = await handler(Buffer.from(JSON.stringify(event)), { ...context(), requestId });
      const payload = out.isBase64Encoded ? Buffer.from(out.body, "base64") : Buffer.from(out.body, "utf8");
      res.writeHead(out.statusCode, { ...out.headers, "content-length": payload.length, "x-fc-request-id": requestId });
      res.end(payload);
    })().catch((error: unknown) => {
      if (res.headersSent) return void res.destroy();
      const status = (error as { code?: string }).code === "BodyTooLarge" ? 413 : 502;
      res.writeHead(status, { "content-type": "application/json" }).end(
        JSON.stringify({
          error: {
            code: status === 413 ? "BodyTooLarge" : "FunctionError",
            message: status === 413 ? "request body over 32 MB" : "the function failed",
          },
        }),
      );
    });
}

/** FC's decoded path; a malformed escape (`%ZZ`) stays as it came, for the function to refuse. */
function decodedPath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
