/**
 * The local cloud's speech engine: real speech from espeak-ng (WASM) in a worker thread, resampled and encoded to
 * what the request asks for, with word and sentence timings spread over the measured duration.
 */
import { Worker } from "node:worker_threads";
import { shiftCues } from "../../../lib/audio/stitch.js";
import { wavHeader } from "../../../lib/audio/wav.js";
import { multiplierFromRate } from "../../../lib/speech/rates.js";
import { chunkText } from "../../../lib/text/chunk.js";
import { looksLikeSsml, tokenizeMarkup } from "../../../lib/text/markup.js";
import { escapeXml } from "../../../lib/text/xml.js";

export type AudioFormat = "pcm" | "wav" | "mp3";

export interface SpeechRequest {
  /** Plain text or a <speak> document. */
  readonly text: string;
  readonly sampleRate: number;
  readonly format: AudioFormat;
  /** NLS scale 0-100, default 50. */
  readonly volume?: number;
  /** NLS scale -500..500, default 0. */
  readonly speechRate?: number;
  /** NLS scale -500..500, default 0. */
  readonly pitchRate?: number;
  readonly male?: boolean;
}

export interface Timing {
  readonly text: string;
  readonly begin_time: number;
  readonly end_time: number;
}

export interface SpeechResult {
  readonly audio: Buffer;
  readonly durationMs: number;
  /** Per Han character or English word, as NLS MetaInfo subtitles give them. */
  readonly words: Timing[];
  readonly sentences: Timing[];
}

/** What the emulators need from a speech engine: espeak-ng here, a tone generator in benchmarks of the plumbing. */
export interface SpeechSource {
  synthesize(req: SpeechRequest): Promise<SpeechResult>;
  close(): Promise<void>;
}

export class SpeechEngine implements SpeechSource {
  #worker: Worker | undefined;
  #next = 0;
  readonly #pending = new Map<
    number,
    { resolve: (r: { audio: Uint8Array; durationMs: number }) => void; reject: (e: Error) => void }
  >();

  async synthesize(req: SpeechRequest): Promise<SpeechResult> {
    const spoken = toEspeakInput(req.text);
    const chinese = /\p{Script=Han}/u.test(spoken.plain);
    const wpm = Math.round(175 * multiplierFromRate(req.speechRate ?? 0));
    const pitch = Math.max(0, Math.min(99, Math.round(50 + (req.pitchRate ?? 0) / 10)));
    const voice = `${chinese ? "cmn" : "en-us"}+${req.male ? "m3" : "f3"}`;
    const args = ["-v", voice, "-s", String(wpm), "-p", String(pitch), ...(spoken.ssml ? ["-m"] : [])];
    const gain = (req.volume ?? 50) / 50;
    const { audio, durationMs } = await this.#run({
      args,
      text: spoken.input,
      sampleRate: req.sampleRate,
      format: req.format,
      gain,
    });
    const bytes = Buffer.from(audio.buffer, audio.byteOffset, audio.byteLength);
    const encoded = req.format === "wav" ? Buffer.concat([wavHeader(bytes.length, req.sampleRate), bytes]) : bytes;
    return { audio: encoded, durationMs, ...timings(spoken.plain, durationMs) };
  }

  #run(job: {
    args: string[];
    text: string;
    sampleRate: number;
    format: AudioFormat;
    gain: number;
  }): Promise<{ audio: Uint8Array; durationMs: number }> {
    const worker = this.#ensureWorker();
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.ref(); // an idle engine must not keep the process alive, a busy one must
      worker.postMessage({ id, ...job });
    });
  }

  #ensureWorker(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(new URL("./speech-worker.mjs", import.meta.url));
    worker.on("message", (msg: { id: number; audio?: Uint8Array; durationMs?: number; error?: string }) => {
      const waiter = this.#pending.get(msg.id);
      this.#pending.delete(msg.id);
      if (this.#pending.size === 0) worker.unref();
      if (msg.error !== undefined) waiter?.reject(new Error(`speech engine: ${msg.error}`));
      else waiter?.resolve({ audio: msg.audio!, durationMs: msg.durationMs! });
    });
    worker.on("error", (error) => {
      for (const waiter of this.#pending.values()) waiter.reject(error);
      this.#pending.clear();
      this.#worker = undefined;
    });
    worker.unref();
    this.#worker = worker;
    return worker;
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    await worker?.terminate();
  }
}

/** espeak speaks SSML differently from Alibaba: keep breaks, read <sub> aliases, drop the other tags. */
function toEspeakInput(text: string): { input: string; plain: string; ssml: boolean } {
  if (!looksLikeSsml(text)) return { input: text, plain: text, ssml: false };
  let input = "";
  let plain = "";
  let alias: string | undefined;
  for (const token of tokenizeMarkup(text).tokens) {
    if (token.kind === "text") {
      const said = alias ?? token.value;
      alias = alias === undefined ? undefined : "";
      input += escapeXml(said);
      plain += said;
    } else if (token.name === "break" && token.kind !== "close") {
      input += `<break time="${escapeXml(token.attrs.get("time") ?? "1s")}"/>`;
    } else if (token.name === "sub") {
      alias = token.kind === "open" ? (token.attrs.get("alias") ?? "") : undefined;
    }
  }
  return { input: `<speak>${input}</speak>`, plain, ssml: true };
}

/** Spreads the measured duration over words (Han characters, Latin words) and sentences, in proportion to length. */
export function timings(plain: string, durationMs: number): { words: Timing[]; sentences: Timing[] } {
  const words = [...plain.matchAll(/\p{Script=Han}|[\p{L}\p{N}'’-]+/gu)].map((m) => ({
    text: m[0],
    at: m.index,
    weight: m[0].length,
  }));
  const total = words.reduce((s, w) => s + w.weight, 0) || 1;
  let elapsed = 0;
  const wordTimings = words.map((w) => {
    const begin = Math.round((elapsed / total) * durationMs);
    elapsed += w.weight;
    return { text: w.text, begin_time: begin, end_time: Math.round((elapsed / total) * durationMs), at: w.at };
  });
  const sentences: Timing[] = [];
  for (const m of plain.matchAll(/[^。！？!?.\n]+[。！？!?.\n]*/gu)) {
    const inside = wordTimings.filter((w) => w.at >= m.index && w.at < m.index + m[0].length);
    if (inside.length === 0) continue;
    sentences.push({ text: m[0].trim(), begin_time: inside[0]!.begin_time, end_time: inside.at(-1)!.end_time });
  }
  return { words: wordTimings.map(({ at: _at, ...t }) => t), sentences };
}

/**
 * Text of any length from a source that takes a few hundred characters at a time (as NLS long text and ICE do
 * internally): synthesized piece by piece, joined (MP3 frames concatenate; WAV gets one header over the PCM), with
 * each piece's sentences shifted by the measured audio before it.
 */
export async function synthesizeLong(
  engine: SpeechSource,
  req: SpeechRequest,
): Promise<{ audio: Buffer; sentences: Timing[] }> {
  const parts: Buffer[] = [];
  const sentences: Timing[][] = [];
  const durations: number[] = [];
  for (const piece of chunkText(req.text, { max: 300 })) {
    const r = await engine.synthesize({ ...req, text: piece, format: req.format === "mp3" ? "mp3" : "pcm" });
    parts.push(r.audio);
    sentences.push(r.sentences);
    durations.push(r.durationMs);
  }
  const body = Buffer.concat(parts);
  return {
    audio: req.format === "wav" ? Buffer.concat([wavHeader(body.length, req.sampleRate), body]) : body,
    sentences: shiftCues(sentences, durations),
  };
}
