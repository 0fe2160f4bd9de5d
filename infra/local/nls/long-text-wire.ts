/**
 * The long-text POST body as NLS's document (the project's seed 003, its request parameter table) states it, checked
 * by the emulator on its own, not with the client's schema, so a mistake in the client's schema shows end to end:
 * `payload.tts_request` with `text` (required), `format` pcm/wav/mp3 and `sample_rate` 8000/16000 (both required),
 * `voice` (default xiaoyun), `volume` 0–100, `speech_rate` and `pitch_rate` −500–500, `enable_subtitle`;
 * `payload.enable_notify` (required) and `notify_url`; `header.appkey`.
 */
import { isRecord } from "../../../lib/validation.js";
import { intIn } from "../wire-checks.js";

/** What the emulator synthesizes, the document's defaults filled in. */
export interface TtsRequest {
  voice: string;
  sample_rate: number;
  format: "pcm" | "wav" | "mp3";
  text: string;
  volume?: number;
  speech_rate?: number;
  pitch_rate?: number;
  enable_subtitle?: boolean;
}

const FORMATS = ["pcm", "wav", "mp3"] as const;
const isFormat = (f: unknown): f is TtsRequest["format"] => FORMATS.includes(f as TtsRequest["format"]);

/** The request, or the first problem as `field: message` (NLS answers it 40000003 PARAMETER_INVALID). */
export function checkLongTextRequest(
  body: unknown,
): { tts: TtsRequest; notify: boolean; notifyUrl?: string } | { problem: string } {
  const fail = (field: string, message: string) => ({ problem: `${field}: ${message}` });
  if (!isRecord(body) || !isRecord(body.payload)) return fail("payload", "is required");
  if (!isRecord(body.header) || typeof body.header.appkey !== "string" || body.header.appkey === "")
    return fail("header.appkey", "is required");
  const { payload } = body;
  const tts = payload.tts_request;
  if (!isRecord(tts)) return fail("payload.tts_request", "is required");
  if (typeof tts.text !== "string" || tts.text === "") return fail("payload.tts_request.text", "is required");
  if (!isFormat(tts.format)) return fail("payload.tts_request.format", "must be pcm, wav or mp3");
  if (tts.sample_rate !== 8000 && tts.sample_rate !== 16000)
    return fail("payload.tts_request.sample_rate", "must be 16000 or 8000");
  const voice = tts.voice ?? "xiaoyun";
  if (typeof voice !== "string" || voice === "") return fail("payload.tts_request.voice", "must be a voice name");
  for (const [field, lo, hi] of [
    ["volume", 0, 100],
    ["speech_rate", -500, 500],
    ["pitch_rate", -500, 500],
  ] as const)
    if (tts[field] !== undefined && !intIn(tts[field], lo, hi))
      return fail(`payload.tts_request.${field}`, `must be an integer from ${lo} to ${hi}`);
  if (tts.enable_subtitle !== undefined && typeof tts.enable_subtitle !== "boolean")
    return fail("payload.tts_request.enable_subtitle", "must be true or false");
  if (typeof payload.enable_notify !== "boolean") return fail("payload.enable_notify", "is required (true or false)");
  if (payload.notify_url !== undefined && typeof payload.notify_url !== "string")
    return fail("payload.notify_url", "must be a URL");
  return {
    tts: {
      voice,
      sample_rate: tts.sample_rate,
      format: tts.format,
      text: tts.text,
      ...(tts.volume !== undefined ? { volume: tts.volume as number } : {}),
      ...(tts.speech_rate !== undefined ? { speech_rate: tts.speech_rate as number } : {}),
      ...(tts.pitch_rate !== undefined ? { pitch_rate: tts.pitch_rate as number } : {}),
      ...(tts.enable_subtitle !== undefined ? { enable_subtitle: tts.enable_subtitle } : {}),
    },
    notify: payload.enable_notify,
    ...(typeof payload.notify_url === "string" ? { notifyUrl: payload.notify_url } : {}),
  };
}
