/**
 * CosyVoice's duplex WebSocket commands as DashScope's documents state them (the CosyVoice WebSocket API and its
 * client events), checked by the emulator on its own, not with the client's schemas. Every command has
 * `header: {action, task_id, streaming: "duplex"}`. run-task's payload: `task_group` "audio", `task` "tts", `function`
 * "SpeechSynthesizer", `model`, `parameters` (`text_type` PlainText, `voice`, `format` pcm/wav/mp3/opus, `sample_rate`
 * 8000/16000/22050/24000/44100/48000, `volume` 0–100, `rate` and `pitch` 0.5–2, `enable_ssml`,
 * `word_timestamp_enabled`, `bit_rate` for opus) and `input` {}. continue-task carries `input.text`, or
 * `input.flush: true` (the SDK's streaming_flush); finish-task an empty `input`.
 */

import { isRecord } from "../../../lib/validation.js";
import {
  COSYVOICE_INSTRUCTION_MODELS,
  COSYVOICE_LANGUAGES,
  COSYVOICE_SEED_MAX,
} from "../../../lib/voices/cosyvoice.js";
import { between, intIn } from "../wire-checks.js";

export interface RunTask {
  readonly model: string;
  readonly voice: string;
  readonly format: "pcm" | "wav" | "mp3" | "opus";
  readonly sampleRate: number;
  readonly volume: number;
  readonly rate: number;
  readonly pitch: number;
  readonly ssml: boolean;
  readonly words: boolean;
}

const FORMATS = ["pcm", "wav", "mp3", "opus"] as const;
const isFormat = (f: unknown): f is RunTask["format"] => FORMATS.includes(f as RunTask["format"]);
const SAMPLE_RATES = [8000, 16000, 22050, 24000, 44100, 48000];

/** Whether a command's header is the duplex protocol's for `action`. */
function headerOk(msg: unknown, action: string): msg is Record<string, unknown> & { payload?: unknown } {
  if (!isRecord(msg) || !isRecord(msg.header)) return false;
  const { header } = msg;
  return (
    header.action === action &&
    typeof header.task_id === "string" &&
    header.task_id !== "" &&
    header.streaming === "duplex"
  );
}

/** run-task's model and parameters, the documented defaults filled in, or the first problem. */
export function checkRunTask(msg: unknown): RunTask | { problem: string } {
  if (!headerOk(msg, "run-task")) return { problem: "header: needs action run-task, a task_id and streaming duplex" };
  const payload = msg.payload;
  if (!isRecord(payload)) return { problem: "payload: is required" };
  if (payload.task_group !== "audio" || payload.task !== "tts" || payload.function !== "SpeechSynthesizer")
    return { problem: "payload: task_group audio, task tts and function SpeechSynthesizer are required" };
  if (typeof payload.model !== "string" || payload.model === "") return { problem: "payload.model: is required" };
  if (!isRecord(payload.input)) return { problem: "payload.input: is required" };
  const p = payload.parameters;
  if (!isRecord(p)) return { problem: "parameters: is required" };
  if ((p.text_type ?? "PlainText") !== "PlainText") return { problem: "parameters.text_type: must be PlainText" };
  if (typeof p.voice !== "string" || p.voice === "") return { problem: "parameters.voice: is required" };
  const format = p.format ?? "mp3";
  if (!isFormat(format)) return { problem: "parameters.format: must be pcm, wav, mp3 or opus" };
  const sampleRate = p.sample_rate ?? 22050;
  if (!SAMPLE_RATES.includes(sampleRate as number))
    return { problem: `parameters.sample_rate: must be one of ${SAMPLE_RATES.join(", ")}` };
  const volume = p.volume ?? 50;
  if (!intIn(volume, 0, 100)) return { problem: "parameters.volume: must be 0 to 100" };
  const rate = p.rate ?? 1;
  if (!between(rate, 0.5, 2)) return { problem: "parameters.rate: must be 0.5 to 2" };
  const pitch = p.pitch ?? 1;
  if (!between(pitch, 0.5, 2)) return { problem: "parameters.pitch: must be 0.5 to 2" };
  for (const flag of ["enable_ssml", "word_timestamp_enabled"] as const)
    if (p[flag] !== undefined && typeof p[flag] !== "boolean")
      return { problem: `parameters.${flag}: must be true or false` };
  if (p.bit_rate !== undefined && !Number.isInteger(p.bit_rate))
    return { problem: "parameters.bit_rate: must be a whole number" };
  if (p.seed !== undefined && !intIn(p.seed, 0, COSYVOICE_SEED_MAX))
    return { problem: `parameters.seed: must be a whole number from 0 to ${COSYVOICE_SEED_MAX}` };
  if (
    p.language_hints !== undefined &&
    (!Array.isArray(p.language_hints) ||
      !p.language_hints.every((l) => (COSYVOICE_LANGUAGES as readonly unknown[]).includes(l)))
  )
    return { problem: `parameters.language_hints: must be an array of ${COSYVOICE_LANGUAGES.join(", ")}` };
  if (p.instruction !== undefined) {
    if (typeof p.instruction !== "string") return { problem: "parameters.instruction: must be a string" };
    if (!(COSYVOICE_INSTRUCTION_MODELS as readonly string[]).includes(payload.model))
      return { problem: `parameters.instruction: ${payload.model} does not support instruction` };
  }
  return {
    model: payload.model,
    voice: p.voice,
    format,
    sampleRate: sampleRate as number,
    volume,
    rate,
    pitch,
    ssml: p.enable_ssml === true,
    words: p.word_timestamp_enabled === true,
  };
}

/** continue-task's text, or a flush (`text` undefined), or undefined when it is neither. */
export function checkContinueTask(msg: unknown): { text?: string } | undefined {
  if (!headerOk(msg, "continue-task") || !isRecord(msg.payload) || !isRecord(msg.payload.input)) return undefined;
  const { input } = msg.payload;
  if (typeof input.text === "string") return { text: input.text };
  return input.flush === true ? {} : undefined;
}

/** Whether finish-task is well formed. */
export function isFinishTask(msg: unknown): boolean {
  return headerOk(msg, "finish-task") && isRecord(msg.payload) && isRecord(msg.payload.input);
}
