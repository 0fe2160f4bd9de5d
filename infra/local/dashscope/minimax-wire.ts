/**
 * The MiniMax request as DashScope's document (the project's seed 004) states it, checked by the emulator on its own:
 * written from the document's parameter table, not from the client's schema, so a mistake in the client's schema is
 * caught end to end instead of being agreed with. Fields the emulator does not act on are only type-checked.
 */
import { isRecord } from "../../../lib/validation.js";
import { between, intIn } from "../wire-checks.js";

/** The models of the document's model table. */
const MODELS = ["MiniMax/speech-2.8-hd", "MiniMax/speech-2.8-turbo", "MiniMax/speech-02-hd", "MiniMax/speech-02-turbo"];
const EMOTIONS = ["happy", "sad", "angry", "fearful", "disgusted", "surprised", "calm", "whisper"];
const SAMPLE_RATES = [8000, 16000, 22050, 24000, 32000, 44100];
const BITRATES = [32000, 64000, 128000, 256000];
const FORMATS = ["mp3", "pcm", "flac", "wav"] as const;

/** A request the emulator acts on, its defaults filled in as the document gives them. */
export interface MinimaxWireRequest {
  readonly model: string;
  readonly text: string;
  readonly voiceIds: readonly string[];
  readonly vol: number;
  readonly sampleRate: number;
  readonly bitrate: number;
  readonly format: "mp3" | "pcm" | "flac" | "wav";
  readonly outputFormat: "url" | "hex";
  readonly excludeAggregatedAudio: boolean;
}

/** The request, or the first problem as `path: message` (DashScope's InvalidParameter). */
export function checkMinimaxRequest(body: unknown): MinimaxWireRequest | { problem: string } {
  const fail = (path: string, message: string) => ({ problem: `${path}: ${message}` });
  if (!isRecord(body)) return fail("body", "must be a JSON object");
  if (typeof body.model !== "string" || !MODELS.includes(body.model))
    return fail("model", `must be one of ${MODELS.join(", ")}`);
  const input = body.input;
  if (!isRecord(input)) return fail("input", "is required");
  if (typeof input.text !== "string" || input.text === "") return fail("input.text", "is required");
  const voice = input.voice_setting;
  if (!isRecord(voice)) return fail("input.voice_setting", "is required");
  const voiceId = voice.voice_id ?? "";
  if (typeof voiceId !== "string") return fail("input.voice_setting.voice_id", "must be a string");
  const weights = input.timbre_weights;
  if (weights !== undefined && (!Array.isArray(weights) || weights.length === 0 || weights.length > 4))
    return fail("input.timbre_weights", "must list 1 to 4 voices");
  if (voiceId === "" && weights === undefined)
    return fail("input.voice_setting.voice_id", "is required unless timbre_weights blends voices");
  const blended = ((weights ?? []) as unknown[]).map((w) => (isRecord(w) ? w.voice_id : undefined));
  if (blended.some((v) => typeof v !== "string" || v === ""))
    return fail("input.timbre_weights", "each needs a voice_id");
  const speed = voice.speed ?? 1;
  if (!between(speed, 0.5, 2)) return fail("input.voice_setting.speed", "must be in [0.5, 2.0]");
  const vol = voice.vol ?? 1;
  if (typeof vol !== "number" || vol <= 0 || vol > 10) return fail("input.voice_setting.vol", "must be in (0.0, 10.0]");
  const pitch = voice.pitch ?? 0;
  if (!intIn(pitch, -12, 12)) return fail("input.voice_setting.pitch", "must be an integer in [-12, 12]");
  if (voice.emotion !== undefined) {
    if (typeof voice.emotion !== "string" || !EMOTIONS.includes(voice.emotion))
      return fail("input.voice_setting.emotion", `must be one of ${EMOTIONS.join(", ")}`);
    if (voice.emotion === "whisper" && body.model.startsWith("MiniMax/speech-2.8"))
      return fail("input.voice_setting.emotion", "whisper is not supported by speech-2.8-hd and speech-2.8-turbo");
  }
  const audio = input.audio_setting ?? {};
  if (!isRecord(audio)) return fail("input.audio_setting", "must be an object");
  const sampleRate = audio.sample_rate ?? 32000;
  if (!SAMPLE_RATES.includes(sampleRate as number))
    return fail("input.audio_setting.sample_rate", `must be one of ${SAMPLE_RATES.join(", ")}`);
  const bitrate = audio.bitrate ?? 128000;
  if (!BITRATES.includes(bitrate as number))
    return fail("input.audio_setting.bitrate", `must be one of ${BITRATES.join(", ")}`);
  const format = audio.format ?? "mp3";
  const isFormat = (f: unknown): f is (typeof FORMATS)[number] => FORMATS.includes(f as (typeof FORMATS)[number]);
  if (!isFormat(format)) return fail("input.audio_setting.format", `must be one of ${FORMATS.join(", ")}`);
  const channel = audio.channel ?? 1;
  if (channel !== 1 && channel !== 2) return fail("input.audio_setting.channel", "must be 1 or 2");
  const outputFormat = input.output_format ?? "hex";
  if (outputFormat !== "url" && outputFormat !== "hex") return fail("input.output_format", "must be url or hex");
  const stream = input.stream_options;
  if (stream !== undefined && !isRecord(stream)) return fail("input.stream_options", "must be an object");
  return {
    model: body.model,
    text: input.text,
    voiceIds: [voiceId, ...(blended as string[])].filter(Boolean),
    vol,
    sampleRate: sampleRate as number,
    bitrate: bitrate as number,
    format,
    outputFormat,
    excludeAggregatedAudio: isRecord(stream) && stream.exclude_aggregated_audio === true,
  };
}
