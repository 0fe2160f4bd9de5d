/**
 * The on-demand speech request shared by `POST/GET /v1/stream`, the OpenAI-compatible endpoint and the cache key.
 */
import { z } from "zod";

export const SpeechFormatSchema = z.enum(["mp3", "wav", "pcm"]);
export type SpeechFormat = z.infer<typeof SpeechFormatSchema>;

/**
 * @example { "text": "你好", "voice": "siqi", "format": "mp3", "sampleRate": 16000 }
 */
export const SpeechRequestSchema = z
  .object({
    text: z.string().optional(),
    ssml: z.string().optional(),
    provider: z.enum(["nls", "cosyvoice", "minimax"]).default("nls"),
    model: z.string().optional(),
    voice: z.string().optional(),
    format: SpeechFormatSchema.default("mp3"),
    sampleRate: z.number().int().optional(),
    volume: z.number().int().optional(),
    speechRate: z.number().int().optional(),
    pitchRate: z.number().int().optional(),
    /** Word and sentence timings with the audio, as NDJSON (or SSE with `Accept: text/event-stream`). */
    timestamps: z.boolean().optional(),
  })
  .strict()
  .refine((v) => (v.text === undefined) !== (v.ssml === undefined), {
    message: "give exactly one of text or ssml",
    path: ["text"],
  });
export type SpeechRequest = z.infer<typeof SpeechRequestSchema>;

const NUMERIC = new Set(["sampleRate", "volume", "speechRate", "pitchRate"]);

/** Query parameters (for `GET /v1/stream`, so `<audio src>` works) as a request object; `token` is auth, not input. */
export function fromQuery(params: URLSearchParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of params) {
    if (k === "token") continue;
    out[k] =
      NUMERIC.has(k) && /^-?\d+$/.test(v)
        ? Number(v)
        : k === "timestamps" && (v === "true" || v === "false")
          ? v === "true"
          : v;
  }
  return out;
}

export function contentTypeOf(format: SpeechFormat, sampleRate: number): string {
  return format === "mp3" ? "audio/mpeg" : format === "wav" ? "audio/wav" : `audio/L16;rate=${sampleRate}`;
}
