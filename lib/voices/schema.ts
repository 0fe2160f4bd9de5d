import * as z from "../zod.js";

/**
 * One NLS voice as seeds 000 and 003 list it.
 * @example {"id":"siqi","name":"Siqi","sampleRates":[8000,16000,24000],"timestamps":true,"edition":"standard",...}
 */
export const NlsVoiceSchema = z.object({
  id: z.string(),
  name: z.string(),
  nameZh: z.optional(z.string()),
  type: z.string(),
  scenario: z.string(),
  languages: z.string(),
  sampleRates: z.array(z.int()),
  /** Word/sentence-level timestamps (MetaInfo subtitles over WebSocket, sentences in long-text). */
  timestamps: z.boolean(),
  retroflex: z.boolean(),
  edition: z.enum(["lite", "standard", "premium"]),
  /** Emotion categories usable with <emotion>; present only on multi-emotion voices. */
  emotions: z.optional(z.array(z.string())),
  seeds: z.array(z.string()),
});
export type NlsVoice = z.infer<typeof NlsVoiceSchema>;
