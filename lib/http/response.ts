/** Response helpers and the one place that turns an error into an HTTP answer. */
import { InputError, toErrorBody } from "../errors.js";
import type { Logger } from "../log.js";
import { decodeUtf8 } from "../text/utf8.js";

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

/** 4xx errors show their message and field; anything else is logged whole and answered generically. */
export function errorResponse(error: unknown, log?: Logger): Response {
  const { statusCode, body } = toErrorBody(error);
  if (statusCode >= 500) log?.error("request failed", { error });
  else log?.info("request refused", { status: statusCode, code: body.error.code, field: body.error.field });
  return json(
    statusCode,
    body,
    statusCode === 401
      ? { "www-authenticate": 'Bearer realm="tts"' }
      : statusCode === 429 || statusCode === 503
        ? { "retry-after": String(body.error.retryAfterSeconds ?? 1) }
        : {},
  );
}

/**
 * Reads a JSON body, refusing more than `limit` bytes before reading them all. With `optional`, an absent or empty
 * body is `undefined` instead of an error.
 */
export async function readJson(
  request: Request,
  limit = 64 * 1024,
  opts: { optional?: boolean } = {},
): Promise<unknown> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > limit)
    throw new InputError("body", `is ${declared} bytes; at most ${limit} are accepted`, {
      limit,
      actual: declared,
      statusCode: 413,
      code: "BodyTooLarge",
    });
  if (!request.body) {
    if (opts.optional) return undefined;
    throw new InputError("body", "is empty; a JSON object is expected");
  }
  const reader = request.body.getReader();
  return readJsonChunks(
    {
      [Symbol.asyncIterator]: () => ({
        next: () => reader.read() as Promise<IteratorResult<Uint8Array>>,
        return: async () => {
          await reader.cancel();
          return { done: true, value: undefined };
        },
      }),
    },
    limit,
    opts,
  );
}

/**
 * A JSON body from its chunks (a WHATWG body or a Node request), refused with 413 as soon as it passes `limit` bytes
 * and strictly decoded: invalid UTF-8 is refused with its byte offset, never turned into U+FFFD and spoken.
 */
export async function readJsonChunks(
  body: AsyncIterable<Uint8Array>,
  limit: number,
  opts: { optional?: boolean } = {},
): Promise<unknown> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const value of body) {
    size += value.length;
    if (size > limit)
      throw new InputError("body", `is over ${limit} bytes`, { limit, statusCode: 413, code: "BodyTooLarge" });
    chunks.push(value);
  }
  const text = decodeUtf8(Buffer.concat(chunks), "body");
  if (opts.optional && text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new InputError("body", "is not valid JSON");
  }
}

/**
 * A byte stream over an async iterator that pulls only when the reader asks (so a slow client slows the source),
 * and returns the iterator when the reader cancels (so the source closes its upstream).
 */
export function streamOf(source: AsyncIterator<Uint8Array>, first?: Uint8Array): ReadableStream<Uint8Array> {
  let pending = first;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (pending) {
          controller.enqueue(pending);
          pending = undefined;
          return;
        }
        const { value, done } = await source.next();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      async cancel() {
        await source.return?.();
      },
    },
    { highWaterMark: 0 },
  );
}
