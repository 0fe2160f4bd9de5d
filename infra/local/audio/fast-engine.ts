/**
 * The emulators' fast mode: audio of the right length for the text (60 ms per character) made in microseconds, for
 * tests and benchmarks of the plumbing at scale, where real offline speech (~0.25 s per 100 characters) would
 * dominate. PCM and WAV carry a 440 Hz tone; MP3 is a run of silent MPEG-2 Layer III frames (16/22.05/24 kHz).
 */
import { wavHeader } from "../../../lib/audio/wav.js";
import { abortableSleep } from "../../../lib/retry.js";
import { codePointCount, spokenText } from "../../../lib/text/index.js";
import { type SpeechRequest, type SpeechResult, type SpeechSource, timings } from "./engine.js";

export const FAST_MS_PER_CHAR = 60;

/** MPEG-2 Layer III, 32 kbit/s, no padding: 576 samples per frame. Sample-rate index 0/1/2 = 22050/24000/16000. */
const MP3_RATE_INDEX: Record<number, number> = { 22050: 0, 24000: 1, 16000: 2 };

const tones = new Map<number, Buffer>();
/** Runs of silent MP3 frames per sample rate, grown as needed and handed out as views: never written to once made. */
const silences = new Map<number, Buffer>();

function silentMp3(sampleRate: number, frames: number): Buffer {
  const index = MP3_RATE_INDEX[sampleRate];
  if (index === undefined) throw new Error(`the fast engine makes MP3 at 16000, 22050 or 24000 Hz, not ${sampleRate}`);
  const frameLength = Math.floor((72 * 32_000) / sampleRate);
  let run = silences.get(sampleRate);
  if (!run || run.length < frames * frameLength) {
    const frame = Buffer.alloc(frameLength);
    frame.set([0xff, 0xf3, 0x40 | (index << 2), 0xc4]);
    // The frame repeated, in one native fill; twice the size asked, so a longer text rarely grows it again.
    run = Buffer.allocUnsafe(2 * frames * frameLength).fill(frame);
    silences.set(sampleRate, run);
  }
  return run.subarray(0, frames * frameLength);
}

function toneSecond(sampleRate: number): Buffer {
  let tone = tones.get(sampleRate);
  if (!tone) {
    tone = Buffer.alloc(sampleRate * 2);
    for (let i = 0; i < sampleRate; i++)
      tone.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / sampleRate)), i * 2);
    tones.set(sampleRate, tone);
  }
  return tone;
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
    let durationMs = chars * FAST_MS_PER_CHAR;
    let audio: Buffer;
    if (req.format === "mp3") {
      const frames = Math.max(1, Math.round((durationMs / 1000) * (req.sampleRate / 576)));
      audio = silentMp3(req.sampleRate, frames);
      durationMs = (frames * 576 * 1000) / req.sampleRate;
    } else {
      const samples = Math.round((durationMs / 1000) * req.sampleRate);
      const pcm = Buffer.alloc(samples * 2);
      // One second of tone, computed once per rate and copied: hours of audio in milliseconds.
      const second = toneSecond(req.sampleRate);
      for (let at = 0; at < pcm.length; at += second.length)
        second.copy(pcm, at, 0, Math.min(second.length, pcm.length - at));
      audio = req.format === "wav" ? Buffer.concat([wavHeader(pcm.length, req.sampleRate), pcm]) : pcm;
    }
    return { audio, durationMs, ...timings(text, durationMs), ...(req.unpaced ? { paceMs } : {}) };
  }

  async close(): Promise<void> {}
}
