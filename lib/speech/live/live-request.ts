/**
 * A live stream's options and the messages its client sends: `start` once with the options, then `text` fragments as
 * they are written, `flush` to speak what is held now, and `end` (speak the rest, then finish) or `interrupt` (stop
 * now). The HTTP variant takes the same options in its query (read as `fromQuery` reads a stream's) and the text as its
 * body.
 */
import * as z from "../../zod.js";
import { VOICE_OPTIONS } from "../request.js";

/** The providers that take text as it is written: NLS in pieces, CosyVoice in one duplex task. */
export const LiveProviderSchema = z.enum(["nls", "cosyvoice"]);
export type LiveProvider = z.infer<typeof LiveProviderSchema>;

/** How long a clause waits for its sentence to end before it is spoken alone, by default. */
export const CLAUSE_WAIT_MS_DEFAULT = 400;

/** @example { "provider": "cosyvoice", "voice": "longanyang", "format": "pcm", "clauseWaitMs": 300 } */
export const LiveOptionsSchema = z.strictObject({
  provider: z._default(LiveProviderSchema, "nls"),
  ...VOICE_OPTIONS.shape,
  clauseWaitMs: z._default(z.int().check(z.gte(0), z.lte(10_000)), CLAUSE_WAIT_MS_DEFAULT),
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
