/**
 * CosyVoice models and the system voices the seed names (seed 001: longanyang on cosyvoice-v3-flash/plus, longcheng_v2
 * on cosyvoice-v2). More system voices can be allowed with COSYVOICE_VOICES; cloned voices are recognised by the id
 * DashScope gives them (`cosyvoice-<model suffix>-<prefix>-<hash>`).
 */
import { InputError } from "../errors.js";

export const COSYVOICE_MODELS = ["cosyvoice-v2", "cosyvoice-v3-flash", "cosyvoice-v3-plus"] as const;
export type CosyVoiceModel = (typeof COSYVOICE_MODELS)[number];

export const COSYVOICE_VOICES: Readonly<Record<string, readonly CosyVoiceModel[]>> = {
  longanyang: ["cosyvoice-v3-flash", "cosyvoice-v3-plus"],
  longcheng_v2: ["cosyvoice-v2"],
};

export const COSYVOICE_SAMPLE_RATES = [8000, 16000, 22050, 24000, 44100, 48000] as const;

/** The models a voice works with; throws InputError naming the field otherwise. */
export function checkCosyVoice(model: string, voice: string, extraVoices: readonly string[] = []): void {
  if (!(COSYVOICE_MODELS as readonly string[]).includes(model)) {
    throw new InputError(
      "model",
      `"${model}" is not a CosyVoice model with SSML and streaming; use one of ${COSYVOICE_MODELS.join(", ")}`,
      { code: "UnknownModel" },
    );
  }
  const cloned = /^cosyvoice-(v2|v3-flash|v3-plus)-[a-z0-9]+-[a-z0-9]+$/.exec(voice);
  if (cloned) {
    if (`cosyvoice-${cloned[1]}` !== model)
      throw new InputError("voice", `cloned voice "${voice}" belongs to cosyvoice-${cloned[1]}, not ${model}`, {
        code: "VoiceModelMismatch",
      });
    return;
  }
  if (extraVoices.includes(voice)) return;
  const models = COSYVOICE_VOICES[voice];
  if (!models)
    throw new InputError(
      "voice",
      `unknown CosyVoice voice "${voice}"; known: ${Object.keys(COSYVOICE_VOICES).join(", ")} (or a cloned voice id)`,
      { code: "UnknownVoice" },
    );
  if (!models.includes(model as CosyVoiceModel))
    throw new InputError("voice", `"${voice}" works with ${models.join(", ")}, not ${model}`, {
      code: "VoiceModelMismatch",
    });
}
