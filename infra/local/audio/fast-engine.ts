/**
 * The emulators' fast mode: audio of the right length for the text (the local voices' pace, lib/text/pace.ts: 284 ms a
 * Han character, 71 ms a Latin letter or digit, scaled by the speech rate) made in microseconds, for
 * tests and benchmarks of the plumbing at scale, where real offline speech (~0.25 s per 100 characters) would
 * dominate. Each sentence is a 440 Hz tone followed by a pause of silence, as speech is, so the joins of stitched audio
 * can be measured; the sentences' timings are taken from where the tones are. MP3 is made of frames LAME encoded once
 * per sample rate and copied (lamejs uses no bit reservoir, so any frame stands alone).
 */
import { frameAt, mp3Frames } from "../../../lib/audio/mp3.js";
import { wavHeader } from "../../../lib/audio/wav.js";
import { abortableSleep } from "../../../lib/retry.js";
import { codePointCount, spokenText } from "../../../lib/text/index.js";
import { pacedMs } from "../../../lib/text/pace.js";
import { type SpeechRequest, type SpeechResult, type SpeechSource, timings } from "./engine.js";
import { encodeMp3 } from "./mp3-encode.mjs";

/** The silence after each sentence, within its paced length. */
export const FAST_SENTENCE_PAUSE_MS = 240;
const AMPLITUDE = 8000;

/** Whole frames of tone and of silence at one sample rate, as long runs handed out as views (never written to). */
interface Mp3Runs {
  readonly frameMs: number;
  readonly tone: Buffer;
  /** Where each tone frame starts in `tone` (and where the last ends). */
  readonly toneOffsets: readonly number[];
  readonly silence: Buffer;
  readonly silenceFrame: number;
}

const runs = new Map<number, Mp3Runs>();
const RUN_FRAMES = 4096;

function toneSamples(sampleRate: number, count: number): Int16Array {
  const pcm = new Int16Array(count);
  for (let i = 0; i < count; i++) pcm[i] = Math.round(AMPLITUDE * Math.sin((2 * Math.PI * 440 * i) / sampleRate));
  return pcm;
}

function mp3Runs(sampleRate: number): Mp3Runs {
  let made = runs.get(sampleRate);
  if (made) return made;
  const encoded = encodeMp3(toneSamples(sampleRate, sampleRate * 2), sampleRate);
  // The encoder's first and last frames (its start-up and flush) are left out: the rest are steady tone.
  const frames = mp3Frames(encoded).slice(3, -3);
  const first = frames[0]!;
  const steady = frames.map((f) => encoded.subarray(f.offset, f.offset + f.length));
  const pieces: Buffer[] = [];
  const toneOffsets: number[] = [0];
  for (let i = 0; i < RUN_FRAMES; i++) {
    const frame = steady[i % steady.length]!;
    pieces.push(frame);
    toneOffsets.push(toneOffsets.at(-1)! + frame.length);
  }
  // A silent frame: the same header without padding, and nothing after it (no side information, no data).
  const header = Buffer.from(encoded.subarray(first.offset, first.offset + 4));
  header[2] = header[2]! & ~0x02;
  const silent = Buffer.alloc(frameAt(Buffer.concat([header, Buffer.alloc(2048)]), 0)!.length);
  header.copy(silent);
  made = {
    frameMs: (first.samples / first.sampleRate) * 1000,
    tone: Buffer.concat(pieces),
    toneOffsets,
    silence: Buffer.allocUnsafe(silent.length * RUN_FRAMES).fill(silent),
    silenceFrame: silent.length,
  };
  runs.set(sampleRate, made);
  return made;
}

/** `frames` frames of tone or silence, as views of the runs (several when more than a run is asked). */
function mp3Stretch(r: Mp3Runs, kind: "tone" | "silence", frames: number): Buffer[] {
  const out: Buffer[] = [];
  for (let left = frames; left > 0; left -= RUN_FRAMES) {
    const n = Math.min(left, RUN_FRAMES);
    out.push(kind === "tone" ? r.tone.subarray(0, r.toneOffsets[n]) : r.silence.subarray(0, n * r.silenceFrame));
  }
  return out;
}

const tones = new Map<number, Buffer>();
function toneSecond(sampleRate: number): Buffer {
  let tone = tones.get(sampleRate);
  if (!tone) {
    const pcm = toneSamples(sampleRate, sampleRate);
    tone = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    tones.set(sampleRate, tone);
  }
  return tone;
}

function pcmStretch(sampleRate: number, kind: "tone" | "silence", samples: number): Buffer {
  const pcm = Buffer.alloc(samples * 2);
  if (kind === "silence") return pcm;
  // One second of tone, computed once per rate and copied: hours of audio in milliseconds.
  const second = toneSecond(sampleRate);
  for (let at = 0; at < pcm.length; at += second.length)
    second.copy(pcm, at, 0, Math.min(second.length, pcm.length - at));
  return pcm;
}

/** Each sentence of the text, as the timings group them (what a sentence end is, engine.ts's way). */
function sentencesOf(text: string): string[] {
  const sentences = [...text.matchAll(/[^。！？!?.\n]+[。！？!?.\n]*/gu)]
    .map((m) => m[0])
    .filter((s) => /[\p{L}\p{N}]/u.test(s));
  return sentences.length > 0 ? sentences : [text];
}

export class FastEngine implements SpeechSource {
  constructor(
    private readonly opts: {
      synthMsPerChar?: number;
      /** How the pace is waited out (a test counts the waits instead of taking them). */
      sleep?: (ms: number) => Promise<void>;
    } = {},
  ) {}

  async synthesize(req: SpeechRequest): Promise<SpeechResult> {
    const text = spokenText(req.text);
    const chars = codePointCount(text);
    // A fixed synthesis rate per task, as the batch benchmark needs: time proportional to the characters. A caller that
    // paces the whole task is told the time instead.
    const paceMs = chars * (this.opts.synthMsPerChar ?? 0);
    if (paceMs > 0 && !req.unpaced) await (this.opts.sleep ?? abortableSleep)(paceMs);
    const mp3 = req.format === "mp3" ? mp3Runs(req.sampleRate) : undefined;
    const unitMs = mp3 ? mp3.frameMs : 1000 / req.sampleRate;
    const pieces: Buffer[] = [];
    const quiet: number[] = [];
    let units = 0;
    for (const sentence of sentencesOf(text)) {
      const total = Math.max(1, Math.round(pacedMs(sentence, req.speechRate ?? 0) / unitMs));
      const pause = Math.min(Math.round(FAST_SENTENCE_PAUSE_MS / unitMs), Math.floor(total / 3));
      const speech = total - pause;
      if (mp3) pieces.push(...mp3Stretch(mp3, "tone", speech), ...mp3Stretch(mp3, "silence", pause));
      else pieces.push(pcmStretch(req.sampleRate, "tone", speech), pcmStretch(req.sampleRate, "silence", pause));
      units += total;
      if (pause > 0) quiet.push((units - pause) * unitMs, units * unitMs);
    }
    const durationMs = units * unitMs;
    const body = Buffer.concat(pieces);
    const audio = req.format === "wav" ? Buffer.concat([wavHeader(body.length, req.sampleRate), body]) : body;
    return { audio, durationMs, ...timings(text, durationMs, quiet), ...(req.unpaced ? { paceMs } : {}) };
  }

  async close(): Promise<void> {}
}
