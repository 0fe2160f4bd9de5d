import type { TimedEvent } from "./timed.js";

/**
 * The events as NDJSON (one JSON object a line) or as server-sent events (`event: <type>`, `data: <json>`): audio as
 * base64 in `audio`, marks with `text`, `beginMs` and `endMs`, and `end` with the total length. A failure after the
 * first event is the last event (`error`, with its code), as a stream that has begun can say nothing else.
 */
export async function* serializeTimed(
  events: AsyncIterable<TimedEvent>,
  as: "ndjson" | "sse",
  describe: (error: unknown) => { code: string; message: string },
): AsyncGenerator<Uint8Array> {
  const encode = (type: string, body: Record<string, unknown>): Buffer =>
    Buffer.from(
      as === "sse"
        ? `event: ${type}\ndata: ${JSON.stringify({ type, ...body })}\n\n`
        : `${JSON.stringify({ type, ...body })}\n`,
    );
  try {
    for await (const e of events) {
      if (e.type === "audio") yield encode("audio", { audio: e.data.toString("base64") });
      else if (e.type === "end") yield encode("end", { durationMs: e.durationMs });
      else yield encode(e.type, { text: e.text, beginMs: e.beginMs, endMs: e.endMs });
    }
  } catch (error) {
    yield encode("error", describe(error));
  }
}
