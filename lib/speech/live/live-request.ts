/**
 * A live stream's options and the messages its client sends: `start` once with the options, then `text` fragments as
 * they are written, `flush` to speak what is held now, and `end` (speak the rest, then finish) or `interrupt` (stop
 * now). The HTTP variant takes the same options in its query and the text as its body.
 */
import * as z from "../../zod.js";
import { COSYVOICE_OPTIONS, SpeechFormatSchema } from "../request.js";

/** The providers that take text as it is written: NLS in pieces, CosyVoice in one duplex task. */
export const LiveProviderSchema = z.enum(["nls", "cosyvoice"]);
export type LiveProvider = z.infer<typeof LiveProviderSchema>;

/** How long a clause waits for its sentence to end before it is spoken alone, by default. */
export const CLAUSE_WAIT_MS_DEFAULT = 400;

/** @example { "provider": "cosyvoice", "voice": "longanyang", "format": "pcm", "clauseWaitMs": 300 } */
export const LiveOptionsSchema = z.strictObject({
  provider: z._default(LiveProviderSchema, "nls"),
  model: z.optional(z.string()),
  voice: z.optional(z.string()),
  format: z._default(SpeechFormatSchema, "mp3"),
  sampleRate: z.optional(z.int()),
  volume: z.optional(z.int()),
  speechRate: z.optional(z.int()),
  pitchRate: z.optional(z.int()),
  clauseWaitMs: z._default(z.int().check(z.gte(0), z.lte(10_000)), CLAUSE_WAIT_MS_DEFAULT),
  ...COSYVOICE_OPTIONS.shape,
});
export type LiveOptions = z.infer<typeof LiveOptionsSchema>;

/** The most text one `text` message carries (a fragment is usually a token or a few). */
export const LIVE_FRAGMENT_LIMIT = 20_000;

export const LiveClientMessageSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("start"), ...LiveOptionsSchema.shape }),
  z.strictObject({ type: z.literal("text"), text: z.string().check(z.maxLength(LIVE_FRAGMENT_LIMIT)) }),
  z.strictObject({ type: z.literal("flush") }),
  z.strictObject({ type: z.literal("end") }),
  z.strictObject({ type: z.literal("interrupt") }),
]);
export type LiveClientMessage = z.infer<typeof LiveClientMessageSchema>;

/** Options whose values are text even when they look like numbers. */
const TEXTUAL = new Set(["voice", "model", "instruction"]);

/** Query parameters (the HTTP variant) as options. */
export function liveOptionsFromQuery(params: URLSearchParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of params) {
    if (k === "token") continue;
    if (k === "languageHints") out[k] = v.split(",");
    else out[k] = /^-?\d+$/.test(v) && !TEXTUAL.has(k) ? Number(v) : v;
  }
  return out;
}
