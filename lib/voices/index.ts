/**
 * The NLS voice catalogue (seeds 000/003), used to refuse an unknown voice, a sample rate the voice lacks or an
 * emotion it cannot express before any upstream call.
 */
import { InputError } from "../errors.js";
import { NLS_VOICES } from "./nls-voice-table.js";
import type { NlsVoice } from "./schema.js";

export { NLS_VOICES } from "./nls-voice-table.js";
export { type NlsVoice, NlsVoiceSchema } from "./schema.js";

/** Sample rates the long-text REST API accepts whatever the voice (seed 003: 16000 and 8000 Hz). */
export const LONG_TEXT_SAMPLE_RATES = [8000, 16000] as const;

const byId = new Map(NLS_VOICES.map((v) => [v.id, v]));

export function findNlsVoice(id: string): NlsVoice | undefined {
  return byId.get(id);
}

/** The voice, or an InputError naming the field; close matches are suggested for typos. */
export function requireNlsVoice(id: string, field = "voice"): NlsVoice {
  const voice = byId.get(id);
  if (voice) return voice;
  const lower = id.toLowerCase();
  const near = NLS_VOICES.filter((v) => v.id.toLowerCase() === lower || v.id.startsWith(lower.slice(0, 3)))
    .slice(0, 5)
    .map((v) => v.id);
  throw new InputError(field, `unknown NLS voice "${id}"${near.length ? `; did you mean ${near.join(", ")}?` : ""}`, {
    code: "UnknownVoice",
  });
}

export interface VoiceRequest {
  readonly voice: string;
  readonly sampleRate: number;
  readonly mode: "short" | "long";
  readonly enableSubtitle?: boolean;
  readonly emotion?: string;
}

/** Validates voice, sample rate, subtitle support and emotion together; returns the voice. */
export function validateVoiceRequest(req: VoiceRequest): NlsVoice {
  const voice = requireNlsVoice(req.voice);
  const rates =
    req.mode === "long"
      ? voice.sampleRates.filter((r) => (LONG_TEXT_SAMPLE_RATES as readonly number[]).includes(r))
      : voice.sampleRates;
  if (!rates.includes(req.sampleRate)) {
    throw new InputError(
      "sampleRate",
      `${req.sampleRate} Hz is not supported by ${voice.id}${req.mode === "long" ? " in long-text synthesis" : ""}; use one of ${rates.join(", ")}`,
      {
        limit: rates.join("|"),
        actual: req.sampleRate,
        code: "UnsupportedSampleRate",
      },
    );
  }
  if (req.enableSubtitle && !voice.timestamps) {
    throw new InputError(
      "enableSubtitle",
      `${voice.id} does not support timestamps; choose a voice whose table entry says it does (e.g. siqi, sicheng, aixia)`,
      { code: "SubtitlesUnsupported" },
    );
  }
  if (req.emotion !== undefined && !voice.emotions?.includes(req.emotion)) {
    throw new InputError(
      "emotion",
      voice.emotions
        ? `${voice.id} supports ${voice.emotions.join(", ")}, not "${req.emotion}"`
        : `${voice.id} is not a multi-emotion voice`,
      { code: "UnsupportedEmotion" },
    );
  }
  return voice;
}
