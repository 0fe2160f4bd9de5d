/**
 * POST /v1/live, the live stream over plain HTTP: the options in the query, the text as the request body, sent as it
 * is written (chunked), each chunk taken as a fragment; the answer NDJSON (SSE with `Accept: text/event-stream`) of
 * `started`, `audio` (base64), `word`, `sentence` and `end`. The body's end is the stream's `end`; a client that
 * leaves interrupts it, and `GET /v1/live/{session}` says afterwards what its listener heard.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { StringDecoder } from "node:string_decoder";
import type { ApiAuth } from "../../lib/auth.js";
import { InputError, toErrorBody } from "../../lib/errors.js";
import { headersOf } from "../../lib/http/boundary.js";
import type { Cors } from "../../lib/http/cors.js";
import { writeError } from "../../lib/http/node.js";
import type { Logger } from "../../lib/log.js";
import type { LiveRecords } from "../../lib/speech/live/live-records.js";
import type { LiveOptions } from "../../lib/speech/live/live-request.js";
import { LiveOptionsSchema } from "../../lib/speech/live/live-request.js";
import { liveMessage, runLive } from "../../lib/speech/live/live-session.js";
import type { OpenedLive } from "../../lib/speech/live/open-live.js";
import { fromQuery } from "../../lib/speech/request.js";
import { parseInput } from "../../lib/validation.js";

export async function servePostLive(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  deps: {
    readonly auth: ApiAuth;
    readonly open: (options: LiveOptions, tenant: string) => Promise<OpenedLive>;
    readonly records?: LiveRecords;
    readonly cors: Cors;
    readonly log: Logger;
  },
): Promise<void> {
  const requestId = (req.headers["x-fc-request-id"] as string | undefined) ?? randomUUID();
  const answerHeaders = { ...deps.cors.headers(req.headers.origin), "x-request-id": requestId };
  const log = deps.log.child({ requestId });
  let opened: OpenedLive;
  let tenant: string;
  try {
    const headers = headersOf(req);
    tenant = deps.auth.check(deps.auth.credentialOf(headers, url));
    opened = await deps.open(parseInput(LiveOptionsSchema, fromQuery(url.searchParams)), tenant);
  } catch (error) {
    req.resume();
    return writeError(res, error, log, answerHeaders);
  }
  const sse = /text\/event-stream/i.test(req.headers.accept ?? "");
  res.writeHead(200, {
    ...answerHeaders,
    "content-type": sse ? "text/event-stream" : "application/x-ndjson",
    "x-live-session": opened.session,
    "x-audio-format": opened.format,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  });
  const line = (type: string, json: string): string => (sse ? `event: ${type}\ndata: ${json}\n\n` : `${json}\n`);
  const write = async (text: string): Promise<void> => {
    if (res.destroyed || res.writableEnded) return;
    if (!res.write(text))
      await new Promise<void>((resolve) => {
        res.once("drain", resolve);
        res.once("close", resolve);
      });
  };
  const { speech } = opened;
  res.on("close", () => {
    // The client has gone before the end: nothing more is spoken.
    if (!res.writableFinished) speech.interrupt();
  });
  const describe = (error: unknown) => toErrorBody(error).body.error;
  await write(
    line(
      "started",
      JSON.stringify({
        type: "started",
        session: opened.session,
        provider: opened.provider,
        format: opened.format,
        sampleRate: opened.sampleRate,
        contentType: opened.contentType,
        label: opened.label,
      }),
    ),
  );
  // The body's chunks are the fragments, decoded as UTF-8 across chunk edges.
  const decoder = new StringDecoder("utf8");
  let refused = false;
  const take = (text: string): void => {
    if (text === "" || refused) return;
    try {
      speech.write(text);
    } catch (error) {
      // Past the stream's maximum: the rest of the body is read and dropped, and what was taken is spoken.
      refused = true;
      void write(line("error", JSON.stringify({ type: "error", error: describe(error) })));
      if (error instanceof InputError) speech.end();
    }
  };
  req.on("data", (chunk: Buffer) => take(decoder.write(chunk)));
  req.on("end", () => {
    take(decoder.end());
    speech.end();
  });
  req.on("error", () => speech.interrupt());
  await runLive(
    opened,
    async (e) => {
      if (e.type === "audio")
        return write(line("audio", JSON.stringify({ type: "audio", audio: e.data.toString("base64") })));
      return write(line(e.type, liveMessage(e, describe)));
    },
    { owner: tenant, records: deps.records, log },
  );
  if (!res.destroyed) res.end();
}
