/**
 * The on-demand speech request shared by `POST/GET /v1/stream`, the OpenAI-compatible endpoint and the cache key.
 */
import { InputError } from "../errors.js";
import { StreamProviderSchema } from "../provider-registry.js";
import { CosyVoiceParametersSchema } from "../providers/dashscope/messages.js";
import { textXorSsml } from "../validation.js";
import { COSYVOICE_LANGUAGES } from "../voices/cosyvoice.js";
import * as z from "../zod.js";

export const SpeechFormatSchema = z.enum(["mp3", "wav", "pcm"]);

const cosyWire = CosyVoiceParametersSchema.shape;

/**
 * CosyVoice's own options (run-task's `seed`, `language_hints`, `instruction`), on every path that can reach it; a
 * request to another provider that names one is refused naming it (`refuseCosyVoiceOptions`), never dropped.
 */
export const COSYVOICE_OPTIONS = z.object({
  seed: cosyWire.seed,
  // CosyVoice reads only the first: our API takes exactly one, so none is ever passed and silently unread.
  languageHints: z.optional(
    z.array(z.enum(COSYVOICE_LANGUAGES)).check(z.length(1, "give one language: CosyVoice reads only the first")),
  ),
  instruction: cosyWire.instruction,
});

/** Refuses CosyVoice's own options on a request to `provider`, naming the first one given. */
export function refuseCosyVoiceOptions(
  req: { readonly seed?: number; readonly languageHints?: readonly string[]; readonly instruction?: string },
  provider: string,
): void {
  for (const field of ["seed", "languageHints", "instruction"] as const)
    if (req[field] !== undefined)
      throw new InputError(field, `applies to provider cosyvoice only, not ${provider}`, {
        code: "UnsupportedParameter",
      });
}
export type SpeechFormat = z.infer<typeof SpeechFormatSchema>;

/**
 * How the speech sounds and is encoded, on every stream path (a request's, a live stream's): one rate scale for every
 * provider (NLS's -500..500), and CosyVoice's own options.
 */
export const VOICE_OPTIONS = z.object({
  model: z.optional(z.string()),
  voice: z.optional(z.string()),
  format: z._default(SpeechFormatSchema, "mp3"),
  sampleRate: z.optional(z.int()),
  volume: z.optional(z.int()),
  speechRate: z.optional(z.int()),
  pitchRate: z.optional(z.int()),
  ...COSYVOICE_OPTIONS.shape,
});

/**
 * @example { "text": "你好", "voice": "siqi", "format": "mp3", "sampleRate": 16000 }
 */
export const SpeechRequestSchema = z
  .strictObject({
    text: z.optional(z.string()),
    ssml: z.optional(z.string()),
    provider: z._default(StreamProviderSchema, "nls"),
    ...VOICE_OPTIONS.shape,
    /** Word and sentence timings with the audio, as NDJSON (or SSE with `Accept: text/event-stream`). */
    timestamps: z.optional(z.boolean()),
  })
  .check(textXorSsml());
export type SpeechRequest = z.infer<typeof SpeechRequestSchema>;

const NUMERIC = new Set(["sampleRate", "volume", "speechRate", "pitchRate", "seed", "clauseWaitMs"]);

/**
 * Query parameters (for `GET /v1/stream`, so `<audio src>` works, and `POST /v1/live`'s options) as a request object;
 * `token` is auth, not input.
 */
export function fromQuery(params: URLSearchParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of params) {
    if (k === "token") continue;
    if (k === "languageHints") {
      out[k] = v.split(",");
      continue;
    }
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
