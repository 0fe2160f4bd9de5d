/**
 * SubmitAudioProduceJob's JSON parameters as ICE's document (the project's seed 002) states them, checked by the
 * emulator on its own, not with the client's schemas. `EditingConfig`: `voice`, `customizedVoice` (a cloned voice's
 * VoiceId, which takes precedence over `voice`), `format` MP3/WAV/PCM, `volume` 0–100, `speech_rate` and `pitch_rate`
 * −500–500; `sample_rate` appears only in the document's sample answer (16000), so any positive whole number is taken
 * (which rates ICE makes is unconfirmed). `OutputConfig`: `bucket` and `object` (the audio is `<object>.<format>`).
 */
import { isRecord } from "../../../lib/validation.js";
import { intIn } from "../wire-checks.js";

export interface EditingConfig {
  readonly voice?: string;
  readonly customizedVoice?: string;
  readonly format: "mp3" | "wav" | "pcm";
  readonly sampleRate?: number;
  readonly volume?: number;
  readonly speechRate?: number;
  readonly pitchRate?: number;
}

const FORMATS = { MP3: "mp3", WAV: "wav", PCM: "pcm" } as const;

/** EditingConfig's JSON text, or the first problem. */
export function checkEditingConfig(text: string): EditingConfig | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: "is not JSON" };
  }
  if (!isRecord(value)) return { problem: "is not a JSON object" };
  const format = FORMATS[value.format as keyof typeof FORMATS];
  if (!format) return { problem: "format must be MP3, WAV or PCM" };
  for (const field of ["voice", "customizedVoice"] as const)
    if (value[field] !== undefined && (typeof value[field] !== "string" || value[field] === ""))
      return { problem: `${field} must be a name` };
  if (value.volume !== undefined && !intIn(value.volume, 0, 100)) return { problem: "volume must be 0 to 100" };
  for (const field of ["speech_rate", "pitch_rate"] as const)
    if (value[field] !== undefined && !intIn(value[field], -500, 500))
      return { problem: `${field} must be -500 to 500` };
  if (value.sample_rate !== undefined && !intIn(value.sample_rate, 1, 192_000))
    return { problem: "sample_rate must be a whole number of Hz" };
  return {
    ...(typeof value.voice === "string" ? { voice: value.voice } : {}),
    ...(typeof value.customizedVoice === "string" ? { customizedVoice: value.customizedVoice } : {}),
    format,
    ...(typeof value.sample_rate === "number" ? { sampleRate: value.sample_rate } : {}),
    ...(typeof value.volume === "number" ? { volume: value.volume } : {}),
    ...(typeof value.speech_rate === "number" ? { speechRate: value.speech_rate } : {}),
    ...(typeof value.pitch_rate === "number" ? { pitchRate: value.pitch_rate } : {}),
  };
}

/** OutputConfig's JSON text, or undefined when it lacks a bucket or an object. */
export function checkOutputConfig(text: string): { bucket: string; object: string } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(value) || typeof value.bucket !== "string" || typeof value.object !== "string") return undefined;
  if (value.bucket === "" || value.object === "") return undefined;
  return { bucket: value.bucket, object: value.object };
}
