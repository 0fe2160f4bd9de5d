/**
 * The local cloud's speech engine: real speech from espeak-ng (WASM) in a worker thread, resampled and encoded to
 * what the request asks for, with sentence timings measured from the audio it produced (between its pauses, shifted
 * by the MP3 encoder's delay) and word timings spread over each sentence.
 */
import { Worker } from "node:worker_threads";
import { mp3DurationMs } from "../../../lib/audio/mp3.js";
import { shiftCues } from "../../../lib/audio/stitch.js";
import { wavHeader } from "../../../lib/audio/wav.js";
import { abortableSleep } from "../../../lib/retry.js";
import { chunkText } from "../../../lib/text/chunk.js";
import { looksLikeSsml, tokenizeMarkup } from "../../../lib/text/markup.js";
import { multiplierFromRate } from "../../../lib/text/speech-rate.js";
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
  /**
   * The caller paces the whole task (synthesizeLong): a source with a fixed pace answers as fast as it computes and
   * says in `paceMs` how long the text is to take.
   */
  readonly unpaced?: boolean;
}

export interface Timing {
  readonly text: string;
  readonly begin_time: number;
  readonly end_time: number;
}

export interface SpeechResult {
  readonly audio: Buffer;
  /** Of the audio as delivered: an MP3's frames, with the encoder's delay and padding, not only the speech in them. */
  readonly durationMs: number;
  /** Per Han character or English word, as NLS MetaInfo subtitles give them. */
  readonly words: Timing[];
  readonly sentences: Timing[];
  /** A paced source's (the fast engine's benchmark mode) time for this text, when the request was `unpaced`. */
  readonly paceMs?: number;
}

/** What the emulators need from a speech engine: espeak-ng here, a tone generator in benchmarks of the plumbing. */
export interface SpeechSource {
  synthesize(req: SpeechRequest): Promise<SpeechResult>;
  close(): Promise<void>;
}

/**
 * Samples between a sound in the PCM and the same sound from an MP3 decoder: LAME's encoder delay (576) plus the
 * decoder's (529), as measured here with mpg123 at 8, 24 and 48 kHz. At 8 kHz that is 138 ms, past a cue's tolerance.
 */
export const MP3_DELAY_SAMPLES = 1105;

/** The worker's answer: the audio, the speech's length in ms, and its quiet stretches as flattened [start, end] ms. */
interface WorkerAnswer {
  readonly audio: Uint8Array;
  readonly durationMs: number;
  readonly quiet: readonly number[];
}

export class SpeechEngine implements SpeechSource {
  #worker: Worker | undefined;
  #next = 0;
  readonly #pending = new Map<number, { resolve: (r: WorkerAnswer) => void; reject: (e: Error) => void }>();

  async synthesize(req: SpeechRequest): Promise<SpeechResult> {
    const spoken = toEspeakInput(req.text);
    const chinese = /\p{Script=Han}/u.test(spoken.plain);
    const wpm = Math.round(175 * multiplierFromRate(req.speechRate ?? 0));
    const pitch = Math.max(0, Math.min(99, Math.round(50 + (req.pitchRate ?? 0) / 10)));
    const voice = `${chinese ? "cmn" : "en-us"}+${req.male ? "m3" : "f3"}`;
    const args = ["-v", voice, "-s", String(wpm), "-p", String(pitch), ...(spoken.ssml ? ["-m"] : [])];
    const gain = (req.volume ?? 50) / 50;
    const { audio, durationMs, quiet } = await this.#run({
      args,
      text: spoken.input,
      sampleRate: req.sampleRate,
      format: req.format,
      gain,
    });
    const bytes = Buffer.from(audio.buffer, audio.byteOffset, audio.byteLength);
    const encoded = req.format === "wav" ? Buffer.concat([wavHeader(bytes.length, req.sampleRate), bytes]) : bytes;
    const measured = timings(spoken.plain, durationMs, quiet);
    if (req.format !== "mp3") return { audio: encoded, durationMs, ...measured };
    // An MP3 decoder hears the speech MP3_DELAY_SAMPLES later than it was in the PCM, and the file lasts whole frames.
    const delay = (MP3_DELAY_SAMPLES * 1000) / req.sampleRate;
    const shift = (t: Timing): Timing => ({
      ...t,
      begin_time: Math.round(t.begin_time + delay),
      end_time: Math.round(t.end_time + delay),
    });
    return {
      audio: encoded,
      durationMs: mp3DurationMs(encoded),
      words: measured.words.map(shift),
      sentences: measured.sentences.map(shift),
    };
  }

  #run(job: {
    args: string[];
    text: string;
    sampleRate: number;
    format: AudioFormat;
    gain: number;
  }): Promise<WorkerAnswer> {
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
    worker.on("message", (msg: { id: number; error?: string } & Partial<WorkerAnswer>) => {
      const waiter = this.#pending.get(msg.id);
      this.#pending.delete(msg.id);
      if (this.#pending.size === 0) worker.unref();
      if (msg.error !== undefined) waiter?.reject(new Error(`speech engine: ${msg.error}`));
      else waiter?.resolve({ audio: msg.audio!, durationMs: msg.durationMs!, quiet: msg.quiet ?? [] });
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
  // espeak ends a sentence at "." only before a space ("here.这是" runs on without a pause), as NLS does not.
  if (!looksLikeSsml(text)) return { input: text.replace(/([.!?])(?=[^\s.!?\d])/g, "$1 "), plain: text, ssml: false };
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

/**
 * Sentence and word timings for `plain` spoken in `durationMs`. With the audio's quiet stretches (`quiet`, flattened
 * [start, end] ms pairs), each sentence runs from the end of one pause to the start of the next: the longest pauses
 * inside the speech, one fewer than the sentences, are where sentences end (espeak pauses longer after a sentence than
 * after a comma). Without them (a tone, or fewer pauses than sentences), time is spread in proportion to length.
 * Words are spread over their sentence in proportion to their length.
 */
export function timings(
  plain: string,
  durationMs: number,
  quiet: readonly number[] = [],
): { words: Timing[]; sentences: Timing[] } {
  const words = [...plain.matchAll(/\p{Script=Han}|[\p{L}\p{N}'’-]+/gu)].map((m) => ({
    text: m[0],
    at: m.index,
    weight: m[0].length,
  }));
  // Words and sentences are both in text order: one sweep hands each sentence its words (linear, not a filter of
  // every word per sentence).
  let next = 0;
  const groups = [...plain.matchAll(/[^。！？!?.\n]+[。！？!?.\n]*/gu)]
    .map((m) => {
      while (next < words.length && words[next]!.at < m.index) next++;
      const from = next;
      while (next < words.length && words[next]!.at < m.index + m[0].length) next++;
      return { text: m[0].trim(), words: words.slice(from, next) };
    })
    .filter((g) => g.words.length > 0);
  const spans = sentenceSpans(groups.length, durationMs, quiet) ?? proportionalSpans(groups, durationMs);
  const sentences: Timing[] = [];
  const wordTimings: Timing[] = [];
  groups.forEach((group, i) => {
    const [begin, end] = spans[i]!;
    sentences.push({ text: group.text, begin_time: begin, end_time: end });
    const total = group.words.reduce((sum, w) => sum + w.weight, 0);
    let elapsed = 0;
    for (const w of group.words) {
      const from = Math.round(begin + (elapsed / total) * (end - begin));
      elapsed += w.weight;
      wordTimings.push({
        text: w.text,
        begin_time: from,
        end_time: Math.round(begin + (elapsed / total) * (end - begin)),
      });
    }
  });
  return { words: wordTimings, sentences };
}

/** [begin, end] of each of `count` sentences between the pauses of the audio, or undefined when it has too few. */
function sentenceSpans(
  count: number,
  durationMs: number,
  quiet: readonly number[],
): Array<[number, number]> | undefined {
  if (count === 0) return [];
  const runs: Array<[number, number]> = [];
  for (let i = 0; i + 1 < quiet.length; i += 2) runs.push([quiet[i]!, quiet[i + 1]!]);
  const lead = runs[0]?.[0] === 0 ? runs.shift()![1] : 0;
  const tail = runs.length > 0 && runs.at(-1)![1] >= durationMs - 10 ? runs.pop()![0] : durationMs;
  if (runs.length < count - 1 || lead >= tail) return undefined;
  const ends = runs
    .map((r, order) => ({ r, order }))
    .sort((a, b) => b.r[1] - b.r[0] - (a.r[1] - a.r[0]) || a.order - b.order)
    .slice(0, count - 1)
    .map((x) => x.r)
    .sort((a, b) => a[0] - b[0]);
  return Array.from({ length: count }, (_, i) => [
    i === 0 ? lead : ends[i - 1]![1],
    i === count - 1 ? tail : ends[i]![0],
  ]);
}

/** [begin, end] of each sentence when time is spread over the words in proportion to their length. */
function proportionalSpans(
  groups: ReadonlyArray<{ words: ReadonlyArray<{ weight: number }> }>,
  durationMs: number,
): Array<[number, number]> {
  const total = groups.reduce((sum, g) => sum + g.words.reduce((s, w) => s + w.weight, 0), 0) || 1;
  let elapsed = 0;
  return groups.map((g) => {
    const begin = Math.round((elapsed / total) * durationMs);
    elapsed += g.words.reduce((s, w) => s + w.weight, 0);
    return [begin, Math.round((elapsed / total) * durationMs)];
  });
}

/**
 * Text of any length from a source that takes a few hundred characters at a time (as NLS long text and ICE do
 * internally): synthesized piece by piece, joined (MP3 frames concatenate; WAV gets one header over the PCM), with
 * each piece's sentences shifted by the measured audio before it.
 */
export async function synthesizeLong(
  engine: SpeechSource,
  req: SpeechRequest,
  /** The clock the task's pace is kept by (a test's counts the waits). */
  clock: { now(): number; sleep(ms: number): Promise<void> } = REAL_CLOCK,
): Promise<{ audio: readonly Buffer[]; sentences: Timing[] }> {
  const started = clock.now();
  const parts: Buffer[] = [];
  const sentences: Timing[][] = [];
  const durations: number[] = [];
  let paceMs = 0;
  for (const piece of chunkText(req.text, { max: 300 })) {
    const r = await engine.synthesize({
      ...req,
      text: piece,
      format: req.format === "mp3" ? "mp3" : "pcm",
      unpaced: true,
    });
    parts.push(r.audio);
    sentences.push(r.sentences);
    durations.push(r.durationMs);
    paceMs += r.paceMs ?? 0;
  }
  // A paced task takes its pace from its start, once: a wait per piece added each piece's timer delay and computing
  // (17 pieces for 5,000 characters, about 40 ms on an idle machine, more under load), which no provider's pace has.
  const left = started + paceMs - clock.now();
  if (left > 0) await clock.sleep(left);
  // The pieces are handed on as they are, in order, for one gathered write: joining them into one buffer first cost a
  // copy of the whole audio (MBs per task) for nothing.
  const size = parts.reduce((n, p) => n + p.length, 0);
  return {
    audio: req.format === "wav" ? [wavHeader(size, req.sampleRate), ...parts] : parts,
    sentences: shiftCues(sentences, durations),
  };
}

const REAL_CLOCK = {
  now: () => performance.now(),
  sleep: (ms: number): Promise<void> => abortableSleep(ms),
};
