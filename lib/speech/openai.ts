/**
 * The OpenAI-compatible `POST /v1/audio/speech` body, mapped onto our speech request, so the official `openai` SDK
 * (and every tool built on it) can use NLS voices, and CosyVoice's (with `instructions` on its v3 models), without
 * holding Alibaba credentials.
 */
import { InputError } from "../errors.js";
import { rateFromMultiplier } from "../text/speech-rate.js";
import { checkCosyVoiceInstruction, cosyVoiceModelFor, isCosyVoiceVoice } from "../voices/cosyvoice.js";
import { findNlsVoice } from "../voices/index.js";
import * as z from "../zod.js";
import type { SpeechRequest } from "./request.js";

/**
 * What the openai SDK sends (facts/peers.md §2).
 * @example {"model":"tts-1","voice":"alloy","input":"你好 hello","response_format":"mp3","speed":1.25}
 */
export const OpenAiSpeechSchema = z.object({
  model: z.string().check(z.minLength(1)),
  input: z.string(),
  voice: z.union([z.string().check(z.minLength(1)), z.object({ id: z.string().check(z.minLength(1)) })]),
  response_format: z._default(z.string(), "mp3"),
  speed: z._default(z.number().check(z.gte(0.25), z.lte(4)), 1),
  instructions: z.optional(z.string()),
  stream_format: z.optional(z.enum(["audio", "sse"])),
});
export type OpenAiSpeech = z.infer<typeof OpenAiSpeechSchema>;

/** OpenAI's voice names, each given an NLS voice of a similar character; any NLS voice id works as well. */
export const OPENAI_VOICES: Readonly<Record<string, string>> = {
  alloy: "xiaoyun",
  ash: "aida",
  ballad: "aiqi",
  coral: "aixia",
  echo: "xiaogang",
  fable: "sijia",
  nova: "siqi",
  onyx: "sicheng",
  sage: "ruoxi",
  shimmer: "aijia",
  verse: "aicheng",
};

export function fromOpenAi(body: OpenAiSpeech): SpeechRequest {
  const format = body.response_format;
  if (format !== "mp3" && format !== "wav" && format !== "pcm") {
    throw new InputError("response_format", `"${format}" is not supported; use mp3, wav or pcm`, {
      code: "UnsupportedFormat",
    });
  }
  const name = typeof body.voice === "string" ? body.voice : body.voice.id;
  // A CosyVoice voice (a system voice, or a cloned one) is spoken by CosyVoice, its v3 models taking `instructions`.
  if (isCosyVoiceVoice(name)) {
    const model = cosyVoiceModelFor(name);
    if (body.instructions !== undefined) checkCosyVoiceInstruction(model, "instructions");
    return {
      provider: "cosyvoice",
      text: body.input,
      voice: name,
      model,
      format,
      // OpenAI's pcm is 24 kHz, which CosyVoice has.
      sampleRate: format === "pcm" ? 24000 : 22050,
      speechRate: rateFromMultiplier(body.speed, "speed"),
      ...(body.instructions !== undefined ? { instruction: body.instructions } : {}),
    };
  }
  // NLS voices are set by voice, rate and pitch; nothing takes a free-text instruction, and one is refused, not dropped.
  if (body.instructions !== undefined)
    throw new InputError(
      "instructions",
      "NLS voices take no instructions; choose a CosyVoice v3 voice (e.g. longanyang), or an NLS voice and speed without them",
      { code: "UnsupportedParameter" },
    );
  const voice = OPENAI_VOICES[name] ?? name;
  // OpenAI's pcm is 24 kHz; use it where the voice has it.
  const sampleRate = format === "pcm" && findNlsVoice(voice)?.sampleRates.includes(24000) ? 24000 : 16000;
  return {
    provider: "nls",
    text: body.input,
    voice,
    format,
    sampleRate,
    speechRate: rateFromMultiplier(body.speed, "speed"),
  };
}
