/**
 * What a listener hears, measured independently of the pipeline: the audio decoded (MP3 by mpg123, as players do;
 * WAV and PCM as samples), where speech starts and stops, and the cues of an SRT or VTT file, so a test can say
 * whether each subtitle is on its sentence's audio.
 */
import { MPEGDecoder } from "mpg123-decoder";
import { wavDataChunk } from "../../lib/audio/wav.js";

export interface Heard {
  readonly durationMs: number;
  /** Where speech starts after a pause (and the first sound), in ms. */
  readonly onsets: number[];
  /** Where speech stops before a pause (and the last sound), in ms. */
  readonly offsets: number[];
}

/** Decodes a whole file to mono samples in [-1, 1]. */
export async function decode(
  bytes: Buffer,
  format: "mp3" | "wav" | "pcm",
  sampleRate: number,
): Promise<{ samples: Float32Array; sampleRate: number }> {
  if (format === "mp3") {
    const decoder = new MPEGDecoder();
    await decoder.ready;
    try {
      const out = decoder.decode(bytes);
      return { samples: out.channelData[0]!, sampleRate: out.sampleRate };
    } finally {
      decoder.free();
    }
  }
  const chunk = format === "wav" ? wavDataChunk(bytes) : undefined;
  if (format === "wav" && !chunk) throw new Error("a WAV file without a data chunk");
  const pcm = chunk ? bytes.subarray(chunk.offset, chunk.offset + chunk.size) : bytes;
  const samples = new Float32Array(Math.floor(pcm.length / 2));
  for (let i = 0; i < samples.length; i++) samples[i] = pcm.readInt16LE(i * 2) / 32768;
  return { samples, sampleRate };
}

/**
 * Pauses are 10 ms windows under 3% of the loudest sample, in runs of at least 80 ms (a sentence ends with 180 ms or
 * more; a comma may or may not reach 80 ms, which only adds onsets a cue may match).
 */
export function listen(samples: Float32Array, sampleRate: number): Heard {
  const window = Math.round(sampleRate / 100);
  let loudest = 0;
  for (const s of samples) loudest = Math.max(loudest, Math.abs(s));
  const threshold = loudest * 0.03;
  const windows = Math.ceil(samples.length / window);
  const quiet: boolean[] = [];
  for (let w = 0; w < windows; w++) {
    let q = true;
    for (let i = w * window; q && i < Math.min(samples.length, (w + 1) * window); i++)
      if (Math.abs(samples[i]!) > threshold) q = false;
    quiet.push(q);
  }
  const ms = (w: number) => (w * window * 1000) / sampleRate;
  const onsets: number[] = [];
  const offsets: number[] = [];
  let run = 0;
  for (let w = 0; w <= windows; w++) {
    if (w < windows && quiet[w]) {
      run++;
      continue;
    }
    const startsSpeech = w < windows;
    const afterPause = run >= 8 || w === run; // a pause, or the silence before the first sound
    if (startsSpeech && afterPause) onsets.push(ms(w));
    if (run >= 8 || w === windows) {
      const lastLoud = w - run;
      if (lastLoud > 0) offsets.push(ms(lastLoud));
    }
    run = 0;
  }
  return { durationMs: (samples.length * 1000) / sampleRate, onsets, offsets };
}

/** The cues of an SRT or WebVTT file as [beginMs, endMs]. */
export function cuesOf(subtitles: string): Array<[number, number]> {
  const ms = (h: string, m: string, s: string, f: string) =>
    ((Number(h) * 60 + Number(m)) * 60 + Number(s)) * 1000 + Number(f);
  return [...subtitles.matchAll(/(\d{2}):(\d{2}):(\d{2})[,.](\d{3}) --> (\d{2}):(\d{2}):(\d{2})[,.](\d{3})/g)].map(
    (m) => [ms(m[1]!, m[2]!, m[3]!, m[4]!), ms(m[5]!, m[6]!, m[7]!, m[8]!)],
  );
}

/** The distance from `t` to the nearest of `marks`. */
export function nearest(t: number, marks: readonly number[]): number {
  let best = Number.POSITIVE_INFINITY;
  for (const m of marks) best = Math.min(best, Math.abs(m - t));
  return best;
}
