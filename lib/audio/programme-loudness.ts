/**
 * A programme's loudness as ITU-R BS.1770-4 and EBU R 128 measure it, for one channel: integrated loudness over
 * 400 ms blocks overlapping by 75%, gated absolutely at −70 LUFS and then relatively at 10 LU below the loudness of
 * the blocks that passed; and the true peak, the highest level of the signal oversampled (BS.1770 Annex 2), which
 * catches the peaks between samples that a sample peak misses. Both agree with FFmpeg's ebur128 filter (measured in
 * docs/sources.md's entry).
 */
import { kWeighted, lufs } from "./loudness.js";

const ABSOLUTE_GATE_LUFS = -70;
const RELATIVE_GATE_LU = -10;

/** Integrated loudness in LUFS (-Infinity when no block passes the gates: silence). */
export function integratedLoudness(samples: Float32Array, sampleRate: number): number {
  const weighted = kWeighted(samples, sampleRate);
  // 100 ms segments' energies, each 400 ms block the sum of four: the overlap costs nothing twice.
  const step = Math.round(sampleRate * 0.1);
  const segments: number[] = [];
  for (let start = 0; start + step <= weighted.length; start += step) {
    let sum = 0;
    for (let i = start; i < start + step; i++) sum += weighted[i]! * weighted[i]!;
    segments.push(sum);
  }
  const powers: number[] = [];
  for (let j = 0; j + 4 <= segments.length; j++)
    powers.push((segments[j]! + segments[j + 1]! + segments[j + 2]! + segments[j + 3]!) / (4 * step));
  const gated = (min: number) => powers.filter((p) => lufs(p) > min);
  const absolute = gated(ABSOLUTE_GATE_LUFS);
  if (absolute.length === 0) return Number.NEGATIVE_INFINITY;
  const relative = lufs(absolute.reduce((a, b) => a + b, 0) / absolute.length) + RELATIVE_GATE_LU;
  const passed = gated(Math.max(ABSOLUTE_GATE_LUFS, relative));
  return lufs(passed.reduce((a, b) => a + b, 0) / passed.length);
}

/** Taps per phase of the oversampling filter (a Hann-windowed sinc). */
const TAPS = 24;

const interpolators = new Map<number, Float64Array[]>();

/** The filter's phases for `factor` times oversampling: phase p interpolates at n + p / factor. */
function interpolator(factor: number): Float64Array[] {
  let phases = interpolators.get(factor);
  if (phases) return phases;
  phases = Array.from({ length: factor }, (_, phase) =>
    Float64Array.from({ length: TAPS }, (_, k) => {
      const x = k - TAPS / 2 + 1 - phase / factor;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      return sinc * (0.5 + 0.5 * Math.cos((Math.PI * x) / (TAPS / 2)));
    }),
  );
  interpolators.set(factor, phases);
  return phases;
}

/**
 * The true peak in dBTP (-Infinity for digital silence): the signal oversampled to at least 192 kHz (four times at
 * 48 kHz, as BS.1770 asks; more at providers' lower rates, as FFmpeg's ebur128 does). A peak between samples lies
 * beside a sample that is a local maximum of |x|, so only the intervals on either side of one are interpolated, and
 * only where that sample is within 6 dB of the highest peak found so far (a peak between two samples is never twice
 * the larger of them).
 */
export function truePeakDbtp(samples: Float32Array, sampleRate: number): number {
  const factor = Math.max(4, Math.ceil(192_000 / sampleRate));
  const phases = interpolator(factor);
  let peak = 0;
  for (const s of samples) peak = Math.max(peak, Math.abs(s));
  const at = (n: number, phase: number): number => {
    let y = 0;
    const taps = phases[phase]!;
    for (let k = 0; k < TAPS; k++) {
      const i = n + k - TAPS / 2 + 1;
      if (i >= 0 && i < samples.length) y += taps[k]! * samples[i]!;
    }
    return Math.abs(y);
  };
  for (let n = 0; n < samples.length; n++) {
    const here = Math.abs(samples[n]!);
    if (here < peak / 2) continue;
    if ((n > 0 && Math.abs(samples[n - 1]!) > here) || (n + 1 < samples.length && Math.abs(samples[n + 1]!) > here))
      continue;
    // The intervals (n − 1, n) and (n, n + 1): phase p of interval m interpolates at m + p / factor.
    for (let phase = 1; phase < factor; phase++) {
      if (n > 0) peak = Math.max(peak, at(n - 1, phase));
      if (n + 1 < samples.length) peak = Math.max(peak, at(n, phase));
    }
  }
  return 20 * Math.log10(peak);
}
