/**
 * Where speech is in a stretch of audio: 10 ms blocks whose RMS is at least VOICED_DBFS are voiced. Synthesized
 * speech's pauses are digital silence or a codec's noise far below it; breaths and the quietest consonants stay
 * above it, so a sentence's edge is not mistaken for a pause.
 */

/** The RMS of a 10 ms block that counts as speech: -45 dBFS (a sine of amplitude 0.008). */
export const VOICED_DBFS = -45;
export const BLOCK_MS = 10;

export interface Voicing {
  /** The start of the first voiced block, in ms from the start; undefined if nothing is voiced. */
  readonly firstMs?: number;
  /** The end of the last voiced block, in ms from the start. */
  readonly lastMs?: number;
  readonly durationMs: number;
}

export function voicing(samples: Float32Array, sampleRate: number): Voicing {
  const block = Math.max(1, Math.round((sampleRate * BLOCK_MS) / 1000));
  const floor = 10 ** (VOICED_DBFS / 20);
  const threshold = floor * floor * block;
  let first = -1;
  let last = -1;
  for (let at = 0; at < samples.length; at += block) {
    let sum = 0;
    const end = Math.min(samples.length, at + block);
    for (let i = at; i < end; i++) sum += samples[i]! * samples[i]!;
    if (sum * (block / (end - at)) >= threshold) {
      if (first < 0) first = at;
      last = end;
    }
  }
  const ms = (samplesAt: number) => (samplesAt * 1000) / sampleRate;
  return {
    durationMs: ms(samples.length),
    ...(first >= 0 ? { firstMs: ms(first), lastMs: ms(last) } : {}),
  };
}

/** The peak level of `samples[from, to)` in dBFS (-Infinity for digital silence). */
export function peakDbfs(samples: Float32Array, from: number, to: number): number {
  let peak = 0;
  for (let i = Math.max(0, Math.floor(from)); i < Math.min(samples.length, Math.ceil(to)); i++)
    peak = Math.max(peak, Math.abs(samples[i]!));
  return 20 * Math.log10(peak);
}
