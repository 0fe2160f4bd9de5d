/**
 * What `GET /v1/voices` answers: every provider's voices (or, for MiniMax, which has no fixed list here, what it
 * takes), each with its models, sample rates, and whether it gives timestamps and takes SSML.
 */

import { PROVIDERS } from "../provider-registry.js";
import { COSYVOICE_SAMPLE_RATES, COSYVOICE_VOICES } from "./cosyvoice.js";
import { NLS_VOICES } from "./index.js";
import { MINIMAX_MODELS } from "./minimax-models.js";

/** What the catalogue says of one provider; each provider of the registry has one (the compiler checks). */
type ProviderCard = { configured: boolean; ssml: boolean; timestamps: string | boolean } & Record<string, unknown>;

/** MiniMax's sample rates (seed 004's audio_setting.sample_rate). */
const MINIMAX_SAMPLE_RATES = [8000, 16000, 22050, 24000, 32000, 44100] as const;

export function voiceCatalogue(opts: {
  dashscope: boolean;
  extraCosyVoices: readonly string[];
  /** The most characters one stream takes by provider (STREAM_MAX_CHARS), so a client can say so before it sends. */
  streamMaxChars?: Readonly<Record<string, number>>;
}): Record<string, unknown> {
  const nls = NLS_VOICES.map(({ seeds: _s, ...v }) => ({ provider: "nls", ...v, ssml: true }));
  const cosyvoice = [
    ...Object.entries(COSYVOICE_VOICES).map(([id, models]) => ({ id, models })),
    ...opts.extraCosyVoices.map((id) => ({ id, models: ["cosyvoice-v2", "cosyvoice-v3-flash", "cosyvoice-v3-plus"] })),
  ].map((v) => ({
    provider: "cosyvoice",
    ...v,
    sampleRates: [...COSYVOICE_SAMPLE_RATES],
    timestamps: true,
    ssml: true,
    configured: opts.dashscope,
  }));
  return {
    // maxChars is NLS's, the default provider's: what a client that knows one number counts against.
    ...(opts.streamMaxChars
      ? { stream: { maxChars: opts.streamMaxChars.nls, maxCharsByProvider: opts.streamMaxChars } }
      : {}),
    voices: [...nls, ...cosyvoice],
    providers: withRoles({
      nls: {
        configured: true,
        ssml: true,
        timestamps: "per voice (sentence timings on long text, word timings on streams)",
      },
      ice: {
        configured: true,
        ssml: true,
        timestamps: "sentence timings on long text",
        voices: "the NLS voices above, or a cloned voice's VoiceId (customizedVoice)",
      },
      cosyvoice: { configured: opts.dashscope, ssml: true, timestamps: "words, with word_timestamp_enabled" },
      minimax: {
        configured: opts.dashscope,
        models: [...MINIMAX_MODELS],
        sampleRates: [...MINIMAX_SAMPLE_RATES],
        ssml: false,
        timestamps: false,
        voices: "any MiniMax voice_id (for example male-qn-qingse); MiniMax publishes the list",
      },
    }),
  };
}

/** Each card with what its provider does here (long-text jobs, streams), from the registry. */
function withRoles(cards: Record<keyof typeof PROVIDERS, ProviderCard>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(cards).map(([name, card]) => {
      const { jobs, stream } = PROVIDERS[name as keyof typeof PROVIDERS];
      return [name, { jobs, stream, ...card }];
    }),
  );
}
