/**
 * The joins of stitched audio, measured as a listener hears them: the audio written around each join (the last
 * `windowMs` of one part and the first of the next, the bytes of the output itself) decoded together, then
 * - the pause: from the last voiced 10 ms block before the join to the first after it;
 * - the loudness step: short-term loudness (BS.1770, 3 s) of the speech ending at the pause against the speech
 *   starting after it, in LU;
 * - the peak within 10 ms of the join, where a click (a discontinuity, a frame decoding the wrong bytes) would be.
 * Only two windows are held at a time, whatever the length of the whole.
 */

import { audioSpan } from "./audio-span.js";
import { kWeighted, loudnessOf, SHORT_TERM_MS } from "./loudness.js";
import { decodeMono, type SampleFormat } from "./pcm-decode.js";
import type { StitchObserver } from "./stitch.js";
import { peakDbfs, voicing } from "./voicing.js";

export interface SeamMeasure {
  /** The part before the join (0 for the join between parts 0 and 1). */
  readonly after: number;
  /** Where the join is in the output, in ms. */
  readonly atMs: number;
  /** Silence heard across the join, in ms; at least the windows' length when one side holds no speech. */
  readonly pauseMs: number;
  /** |loudness after − loudness before|, in LU; absent when either side has under 1 s of speech to measure. */
  readonly loudnessStepLu?: number;
  /** The peak within 10 ms either side of the join, in dBFS (-Infinity for digital silence). */
  readonly joinPeakDbfs: number;
}

/** Speech shorter than this on either side leaves the loudness step unmeasured (too little to be stable). */
const MIN_LOUDNESS_MS = 1000;
/** An MP3 window's first frames may lack the bytes they reach back for: their output is not measured. */
const DECODER_SETTLE_MS = 100;

interface Window {
  chunks: Array<{ bytes: Uint8Array; ms: number }>;
  ms: number;
}

export class SeamProbe implements StitchObserver {
  readonly #seams: SeamMeasure[] = [];
  #part = -1;
  #at = 0;
  #head: Window = { chunks: [], ms: 0 };
  #tail: Window = { chunks: [], ms: 0 };
  /** The previous part's last window and where the join after it is, waiting for this part's head. */
  #before: { window: Window; atMs: number } | undefined;

  constructor(
    private readonly format: SampleFormat,
    private readonly sampleRate: number,
    private readonly windowMs = 4000,
  ) {}

  /** WAV parts reach the probe as their data, PCM. */
  get #spanFormat(): "mp3" | "pcm" {
    return this.format === "mp3" ? "mp3" : "pcm";
  }

  get seams(): readonly SeamMeasure[] {
    return this.#seams;
  }

  begin(part: number): void {
    this.#part = part;
    this.#head = { chunks: [], ms: 0 };
    this.#tail = { chunks: [], ms: 0 };
  }

  write(bytes: Uint8Array, ms: number): void {
    this.#at += ms;
    if (this.#head.ms < this.windowMs) {
      this.#head.chunks.push({ bytes, ms });
      this.#head.ms += ms;
    }
    this.#tail.chunks.push({ bytes, ms });
    this.#tail.ms += ms;
    while (this.#tail.chunks.length > 1 && this.#tail.ms - this.#tail.chunks[0]!.ms >= this.windowMs)
      this.#tail.ms -= this.#tail.chunks.shift()!.ms;
  }

  async end(): Promise<void> {
    if (this.#before) await this.#measure(this.#before.window, this.#head, this.#before.atMs);
    this.#before = { window: this.#tail, atMs: this.#at };
  }

  async #measure(before: Window, after: Window, atMs: number): Promise<void> {
    // Only the window's length from each side: a chunk may hold much more.
    const last = audioSpan(
      this.#spanFormat,
      Buffer.concat(before.chunks.map((c) => c.bytes)),
      this.sampleRate,
      this.windowMs,
      "last",
    );
    const first = audioSpan(
      this.#spanFormat,
      Buffer.concat(after.chunks.map((c) => c.bytes)),
      this.sampleRate,
      this.windowMs,
      "first",
    );
    const samples = await decodeMono(this.format, Buffer.concat([last.bytes, first.bytes]));
    const rate = this.sampleRate;
    // Counted from the end: a decoder may give less for the first frames of the window, never for the last.
    const join = Math.max(0, samples.length - Math.round((first.ms * rate) / 1000));
    const settle = Math.min(join, Math.round((DECODER_SETTLE_MS * rate) / 1000));
    const left = voicing(samples.subarray(settle, join), rate);
    const right = voicing(samples.subarray(join), rate);
    const leftMs = left.durationMs;
    const pauseMs = leftMs - (left.lastMs ?? 0) + (right.firstMs ?? right.durationMs);
    const toIndex = (ms: number) => Math.round((ms * rate) / 1000);
    let loudnessStepLu: number | undefined;
    if (left.lastMs !== undefined && right.firstMs !== undefined) {
      const weighted = kWeighted(samples, rate);
      // Up to 3 s of each side's speech: from its first voiced block at most, to its last.
      const endBefore = settle + toIndex(left.lastMs);
      const startBefore = Math.max(settle + toIndex(left.firstMs!), endBefore - toIndex(SHORT_TERM_MS));
      const startAfter = join + toIndex(right.firstMs);
      const endAfter = Math.min(join + toIndex(right.lastMs!), startAfter + toIndex(SHORT_TERM_MS));
      const minimum = toIndex(MIN_LOUDNESS_MS);
      if (endBefore - startBefore >= minimum && endAfter - startAfter >= minimum) {
        const step = loudnessOf(weighted, startAfter, endAfter) - loudnessOf(weighted, startBefore, endBefore);
        loudnessStepLu = Math.round(Math.abs(step) * 100) / 100;
      }
    }
    const ten = toIndex(10);
    this.#seams.push({
      after: this.#part - 1,
      atMs: Math.round(atMs),
      pauseMs: Math.round(pauseMs),
      ...(loudnessStepLu !== undefined ? { loudnessStepLu } : {}),
      joinPeakDbfs: Math.round(peakDbfs(samples, join - ten, join + ten) * 10) / 10,
    });
  }
}
