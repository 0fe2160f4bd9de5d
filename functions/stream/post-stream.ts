/**
 * POST /v1/stream, the hot path, on node:http (no WHATWG Request/Response, no router): credentials before the body,
 * the upstream connection opened while the body is read, checked and looked up in the cache, the body bounded, audio
 * written with backpressure.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ApiAuth } from "../../lib/auth.js";
import type { Clients } from "../../lib/clients.js";
import { InputError } from "../../lib/errors.js";
import { headersOf } from "../../lib/http/boundary.js";
import type { Cors } from "../../lib/http/cors.js";
import { writeChunks, writeError, writeResponse } from "../../lib/http/node.js";
import { readJsonChunks } from "../../lib/http/response.js";
import type { Logger } from "../../lib/log.js";
import { SpeechRequestSchema } from "../../lib/speech/request.js";
import { parseInput } from "../../lib/validation.js";
import { audioHeaders, type StreamSpeech } from "./speech.js";

/** The JSON body of a stream request: text of up to STREAM_MAX_CHARS characters and options, as JSON escapes. */
const STREAM_BODY_LIMIT = 64 * 1024;

export async function servePostStream(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  deps: {
    readonly auth: ApiAuth;
    readonly clients: Clients;
    readonly speech: StreamSpeech;
    readonly cors: Cors;
    readonly log: Logger;
  },
): Promise<void> {
  const { auth, clients, speech, log } = deps;
  const requestId = (req.headers["x-fc-request-id"] as string | undefined) ?? randomUUID();
  // Every answer, audio or error, carries the request id and, for an allowed browser origin, its CORS headers.
  const answerHeaders = { ...deps.cors.headers(req.headers.origin), "x-request-id": requestId };
  const aborted = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) aborted.abort(new Error("client disconnected"));
  });
  try {
    const headers = headersOf(req);
    const tenant = auth.check(auth.credentialOf(headers, url));
    clients.nls.prewarm();
    const declared = Number(req.headers["content-length"] ?? "0");
    if (declared > STREAM_BODY_LIMIT)
      throw new InputError("body", `is ${declared} bytes; at most ${STREAM_BODY_LIMIT} are accepted`, {
        limit: STREAM_BODY_LIMIT,
        actual: declared,
        statusCode: 413,
        code: "BodyTooLarge",
      });
    const request = parseInput(SpeechRequestSchema, await readJsonChunks(req, STREAM_BODY_LIMIT));
    if (request.timestamps) {
      const response = await speech.timed(request, tenant, headers.get("accept"), aborted.signal);
      for (const [name, value] of Object.entries(answerHeaders)) response.headers.set(name, value);
      return await writeResponse(res, response, aborted.signal);
    }
    const opened = await speech.open(request, tenant);
    try {
      // No flushHeaders: the first audio is already here (prefetched), and goes out with the headers in one write.
      res.writeHead(200, { ...audioHeaders(opened.speech), ...answerHeaders });
      const audio = opened.speech.body[Symbol.asyncIterator]();
      await writeChunks(
        res,
        () => audio.next(),
        () => audio.return?.(),
        aborted.signal,
      );
    } finally {
      opened.release();
    }
  } catch (error) {
    await writeError(res, error, log.child({ requestId }), answerHeaders);
  }
}
