/**
 * CosyVoice models and their system voices: each model takes only its own voices, never another model's (Alibaba's
 * CosyVoice voice list; docs/sources.md). More system voices can be allowed with COSYVOICE_VOICES; cloned voices are
 * recognised by the id DashScope gives them (`cosyvoice-<model suffix>-<prefix>-<hash>`). A request that names a
 * voice but no model gets the voice's model.
 */
import { InputError } from "../errors.js";

export const COSYVOICE_MODELS = ["cosyvoice-v2", "cosyvoice-v3-flash", "cosyvoice-v3-plus"] as const;
export type CosyVoiceModel = (typeof COSYVOICE_MODELS)[number];

const V2 = ["cosyvoice-v2"] as const;

/** The system voices we know, with the models that take them (the first is the one a request without `model` gets). */
export const COSYVOICE_VOICES: Readonly<Record<string, readonly CosyVoiceModel[]>> = {
  longanyang: ["cosyvoice-v3-flash", "cosyvoice-v3-plus"],
  longcheng_v2: V2,
  longhua_v2: V2,
  longshu_v2: V2,
  loongbella_v2: V2,
  longwan_v2: V2,
  longxiaochun_v2: V2,
  longxiaoxia_v2: V2,
};

const CLONED = /^cosyvoice-(v2|v3-flash|v3-plus)-[a-z0-9]+-[a-z0-9]+$/;

/** Whether `voice` is a CosyVoice voice: a system voice we know, or a cloned one. */
export function isCosyVoiceVoice(voice: string): boolean {
  return Object.hasOwn(COSYVOICE_VOICES, voice) || CLONED.test(voice);
}

/** The model a request naming `voice` and no model gets: a cloned voice's own, a known voice's first, else v3-flash. */
export function cosyVoiceModelFor(voice: string): CosyVoiceModel {
  const cloned = CLONED.exec(voice);
  if (cloned) return `cosyvoice-${cloned[1]}` as CosyVoiceModel;
  return COSYVOICE_VOICES[voice]?.[0] ?? "cosyvoice-v3-flash";
}

export const COSYVOICE_SAMPLE_RATES = [8000, 16000, 22050, 24000, 44100, 48000] as const;

/**
 * run-task's `language_hints`: the language to speak, for digits, abbreviations, symbols and less common languages
 * (Model Studio, "CosyVoice client events"). An array of which CosyVoice reads only the first element.
 */
export const COSYVOICE_LANGUAGES = ["zh", "en", "fr", "de", "ja", "ko", "ru", "pt", "th", "id", "vi"] as const;

/** run-task's `seed`: the same seed, text, voice and parameters give the same audio (0 to 65535, default 0). */
export const COSYVOICE_SEED_MAX = 65_535;

/**
 * The models that take an `instruction` (a free-text direction of style, emotion or dialect): the v3 models; v2 takes
 * none (Model Studio, "CosyVoice client events"; unconfirmed per voice, docs/sources.md).
 */
export const COSYVOICE_INSTRUCTION_MODELS: readonly CosyVoiceModel[] = ["cosyvoice-v3-flash", "cosyvoice-v3-plus"];

/** Refuses an instruction for a model that takes none, naming `field` (the caller's name for it). */
export function checkCosyVoiceInstruction(model: string, field = "instruction"): void {
  if (!(COSYVOICE_INSTRUCTION_MODELS as readonly string[]).includes(model))
    throw new InputError(
      field,
      `${model} takes no instruction; use ${COSYVOICE_INSTRUCTION_MODELS.join(" or ")} (e.g. voice longanyang)`,
      { code: "UnsupportedParameter" },
    );
}

/** The models a voice works with; throws InputError naming the field otherwise. */
export function checkCosyVoice(model: string, voice: string, extraVoices: readonly string[] = []): void {
  if (!(COSYVOICE_MODELS as readonly string[]).includes(model)) {
    throw new InputError(
      "model",
      `"${model}" is not a CosyVoice model with SSML and streaming; use one of ${COSYVOICE_MODELS.join(", ")}`,
      { code: "UnknownModel" },
    );
  }
  const cloned = CLONED.exec(voice);
  if (cloned) {
    if (`cosyvoice-${cloned[1]}` !== model)
      throw new InputError("voice", `cloned voice "${voice}" belongs to cosyvoice-${cloned[1]}, not ${model}`, {
        code: "VoiceModelMismatch",
      });
    return;
  }
  if (extraVoices.includes(voice)) return;
  const models = COSYVOICE_VOICES[voice];
  if (!models) {
    // cosyvoice-v1's voices (longxiaochun) live on in cosyvoice-v2 as longxiaochun_v2: point there.
    const successor = COSYVOICE_VOICES[`${voice}_v2`] ? `; did you mean ${voice}_v2 (cosyvoice-v2)?` : "";
    throw new InputError(
      "voice",
      `unknown CosyVoice voice "${voice}"${successor} Known: ${Object.keys(COSYVOICE_VOICES).join(", ")}, a cloned voice id, or one added with COSYVOICE_VOICES`,
      { code: "UnknownVoice" },
    );
  }
  if (!models.includes(model as CosyVoiceModel))
    throw new InputError("voice", `"${voice}" works with ${models.join(", ")}, not ${model}`, {
      code: "VoiceModelMismatch",
    });
}
