/**
 * MiniMax speech on DashScope (seed 004): POST /api/v1/services/aigc/multimodal-generation/generation, synchronous
 * (audio as hex or a URL valid 24 h) or streamed as Server-Sent Events (`X-DashScope-SSE: enable`, hex chunks).
 * Every setting is checked against the seed's ranges before any request.
 *
 * The response envelope is open in the seed and facts §9 [U]. The seed names `data.audio` (hex), `extra_info`,
 * `trace_id` and `base_resp`, the native MiniMax t2a_v2 shape, so that is what `parseMinimaxFrame` assumes; it is the
 * one place to change if DashScope wraps it differently.
 */
import { InputError, UpstreamError } from "../../errors.js";
import { withRetry } from "../../retry.js";
import { assertSpeakableCharacters } from "../../text/index.js";
import { multiplierFromRate } from "../../text/speech-rate.js";
import { parseInput } from "../../validation.js";
import { MINIMAX_MODELS } from "../../voices/minimax-models.js";
import * as z from "../../zod.js";
import { type MinimaxInput, type MinimaxRequest, MinimaxRequestSchema } from "./minimax-schema.js";

/** The largest SSE event we hold: a hex chunk of ~1 MB of audio is ~2 MB of text. */
const MAX_SSE_EVENT = 8 * 1024 * 1024;

export { type MinimaxInput, MinimaxInputSchema, type MinimaxRequest, MinimaxRequestSchema } from "./minimax-schema.js";
export { MINIMAX_MODELS };
/** Native MiniMax's synchronous limit (facts §9 [P]): fewer than 10,000 characters. */
export const MINIMAX_TEXT_LIMIT = 9_999;
/** Seed 004: with `output_format: "url"`, the synthesized audio's URL is valid for 24 hours. */
export const MINIMAX_AUDIO_URL_MS = 24 * 3600_000;
/** How long one synthesis call may take before this client gives up on it (its retries each get as long). */
export const MINIMAX_CALL_MS = 120_000;

/** The model used when a request names none: the fast one of seed 004's list. */
export const MINIMAX_DEFAULT_MODEL = "MiniMax/speech-02-turbo";

/**
 * Our one rate scale, NLS's (volume 0-100 with 50 as normal, speech and pitch rates -500..500), as MiniMax's
 * voice_setting: a speed multiplier, a volume multiplier (> 0) and a pitch of -12..12 semitones.
 */
export function minimaxVoiceSetting(
  voiceId: string,
  rates: { volume?: number; speechRate?: number; pitchRate?: number },
): MinimaxInput["voice_setting"] {
  return {
    voice_id: voiceId,
    speed: rates.speechRate === undefined ? 1 : multiplierFromRate(rates.speechRate),
    vol: rates.volume === undefined ? 1 : Math.max(0.01, rates.volume / 50),
    pitch: rates.pitchRate === undefined ? 0 : Math.round((rates.pitchRate / 500) * 12),
  };
}

/**
 * One response (or one SSE frame): `data.status` 1 = a chunk in progress, 2 = the final frame.
 * @example {"data":{"audio":"fffb…","status":2},"extra_info":{"audio_length":2100,"audio_sample_rate":32000,"audio_size":33600,"usage_characters":12,"audio_format":"mp3"},"trace_id":"…","base_resp":{"status_code":0,"status_msg":"success"}}
 */
export const MinimaxFrameSchema = z.object({
  data: z.optional(z.nullable(z.looseObject({ audio: z._default(z.string(), ""), status: z.optional(z.int()) }))),
  extra_info: z.optional(z.record(z.string(), z.unknown())),
  trace_id: z.optional(z.string()),
  base_resp: z.optional(z.object({ status_code: z.number(), status_msg: z.string() })),
  /** DashScope's own error shape (auth, validation). */
  code: z.optional(z.string()),
  message: z.optional(z.string()),
  request_id: z.optional(z.string()),
});

export function parseMinimaxFrame(json: unknown): { audio: string; status?: number } {
  const parsed = MinimaxFrameSchema.safeParse(json);
  if (!parsed.success)
    throw new UpstreamError({
      provider: "minimax",
      code: "InvalidMessage",
      upstreamMessage: "a frame that is not MiniMax's shape",
      retryable: false,
    });
  const frame = parsed.data;
  if (frame.code)
    throw new UpstreamError({
      provider: "minimax",
      code: frame.code,
      upstreamMessage: frame.message ?? "",
      retryable: /Throttling|InternalError|ServiceUnavailable/.test(frame.code),
    });
  if (frame.base_resp?.status_code === 2013) {
    // 2013 is "invalid params": seed 004's ranges are checked before sending, so what MiniMax refuses is what only it
    // knows, above all whether it has the voice. The user's request is wrong, not the service: a 400, not a retry.
    const msg = frame.base_resp.status_msg;
    throw new InputError(/voice/i.test(msg) ? "voice" : "input", `MiniMax refused it as invalid (2013): ${msg}`, {
      code: "RefusedByProvider",
    });
  }
  if (frame.base_resp && frame.base_resp.status_code !== 0) {
    // MiniMax's own codes: 1000/1001/1002/1024/1033 are server-side or rate limits; the rest are terminal.
    const code = frame.base_resp.status_code;
    throw new UpstreamError({
      provider: "minimax",
      code: String(code),
      upstreamMessage: frame.base_resp.status_msg,
      retryable: [1000, 1001, 1002, 1024, 1033].includes(code),
    });
  }
  return { audio: frame.data?.audio ?? "", status: frame.data?.status ?? undefined };
}

export interface MinimaxOptions {
  /** https://dashscope.aliyuncs.com/api/v1/services/aigc/multimodal-generation/generation */
  readonly url: string;
  readonly apiKey: string;
  readonly timeoutMs?: number;
}

export class MinimaxClient {
  constructor(private readonly opts: MinimaxOptions) {}

  /**
   * Validates against seed 004's ranges; throws InputError naming the field. No I/O. MiniMax's own inaudible
   * AI-generated-content watermark (`aigc_watermark`, off by default) is asked for unless the input says otherwise:
   * China's labelling rules want AI-generated audio marked, and this is the mark the provider itself offers.
   */
  prepare(model: string, input: MinimaxInput): MinimaxRequest {
    const req = parseInput(MinimaxRequestSchema, { model, input: { aigc_watermark: true, ...input } });
    assertSpeakableCharacters(req.input.text, "input.text");
    const count = Array.from(req.input.text).length;
    if (count > MINIMAX_TEXT_LIMIT)
      throw new InputError("input.text", `is ${count} characters; MiniMax takes fewer than 10,000 per request`, {
        limit: MINIMAX_TEXT_LIMIT,
        actual: count,
        statusCode: 413,
        code: "TextTooLong",
      });
    return req;
  }

  /** Synchronous synthesis: the whole audio (hex decoded), or its URL with `output_format: "url"`. */
  async synthesize(model: string, input: MinimaxInput): Promise<{ audio?: Buffer; url?: string }> {
    const req = this.prepare(model, input);
    const res = await this.#post(req, false);
    const { audio } = parseMinimaxFrame(await res.json().catch(() => undefined));
    return req.input.output_format === "url" ? { url: audio } : { audio: Buffer.from(audio, "hex") };
  }

  /** Streamed synthesis over SSE: audio chunks as they are made (the final aggregated frame is not repeated). */
  async *stream(model: string, input: MinimaxInput, options: { signal?: AbortSignal } = {}): AsyncGenerator<Buffer> {
    const req = this.prepare(model, { ...input, stream_options: { exclude_aggregated_audio: true } });
    const res = await this.#post(req, true, options.signal);
    // An answer that is not an event stream is one JSON frame (a refusal): read as such, it names what was wrong.
    if (!/^text\/event-stream/i.test(res.headers.get("content-type") ?? "")) {
      const frame = parseMinimaxFrame(await res.json().catch(() => undefined));
      if (frame.audio) yield Buffer.from(frame.audio, "hex");
      return;
    }
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      // Search only the new text (and the one character before it) for the event separator, and bound what one event
      // may hold: an upstream that never separates its events costs linear time and bounded memory, then fails.
      const from = Math.max(0, buffer.length - 1);
      buffer += decoder.decode(chunk, { stream: true });
      let end = buffer.indexOf("\n\n", from);
      if (end === -1 && buffer.length > MAX_SSE_EVENT)
        throw new UpstreamError({
          provider: "minimax",
          code: "InvalidMessage",
          upstreamMessage: `an SSE event over ${MAX_SSE_EVENT} bytes`,
          retryable: false,
        });
      for (; end !== -1; end = buffer.indexOf("\n\n")) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = event
          .split("\n")
          .filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).trimStart())
          .join("\n");
        if (!data) continue;
        let json: unknown;
        try {
          json = JSON.parse(data);
        } catch {
          throw new UpstreamError({
            provider: "minimax",
            code: "InvalidMessage",
            upstreamMessage: "an SSE event whose data is not JSON",
            retryable: false,
          });
        }
        const frame = parseMinimaxFrame(json);
        if (frame.status === 2) return;
        if (frame.audio) yield Buffer.from(frame.audio, "hex");
      }
    }
    throw new UpstreamError({
      provider: "minimax",
      code: "ConnectionClosed",
      upstreamMessage: "the SSE stream ended before the final frame",
      retryable: true,
    });
  }

  async #post(req: MinimaxRequest, sse: boolean, signal?: AbortSignal): Promise<Response> {
    return withRetry(
      async () => {
        let res: Response;
        try {
          res = await fetch(this.opts.url, {
            method: "POST",
            headers: {
              authorization: `Bearer ${this.opts.apiKey}`,
              "content-type": "application/json",
              ...(sse ? { "x-dashscope-sse": "enable" } : {}),
            },
            body: JSON.stringify(req),
            signal: signal ?? AbortSignal.timeout(this.opts.timeoutMs ?? MINIMAX_CALL_MS),
          });
        } catch (error) {
          throw new UpstreamError({
            provider: "minimax",
            code: "NetworkError",
            upstreamMessage: "DashScope request failed",
            retryable: true,
            cause: error,
          });
        }
        if (!res.ok) {
          parseMinimaxFrame(await res.json().catch(() => ({})));
          throw new UpstreamError({
            provider: "minimax",
            code: `HTTP${res.status}`,
            upstreamMessage: `DashScope answered HTTP ${res.status}`,
            retryable: res.status >= 500 || res.status === 429,
          });
        }
        return res;
      },
      { attempts: 3, baseMs: 300, signal },
    );
  }
}
