/**
 * Loudness as ITU-R BS.1770 defines it, for one channel: the signal K-weighted (a high shelf of about +4 dB above
 * 1.5 kHz, then a high-pass at 38 Hz), its mean square over the span, and L = -0.691 + 10·log10(mean square) in LUFS.
 * EBU Tech 3341's short-term loudness is this over 3 s, ungated. The two biquads are derived for any sample rate from
 * the filter's analogue parameters (as pyloudnorm does), since providers speak at 8 to 48 kHz, not only BS.1770's 48.
 */

interface Biquad {
  readonly b: readonly [number, number, number];
  readonly a: readonly [number, number];
}

/** The pre-filter's shelf and the RLB high-pass, from their gain (dB), Q and centre frequency. */
function kWeighting(sampleRate: number): readonly [Biquad, Biquad] {
  const shelf = (() => {
    const [gain, q, fc] = [3.999843853973347, 0.7071752369554196, 1681.974450955533];
    const A = 10 ** (gain / 40);
    const w0 = (2 * Math.PI * fc) / sampleRate;
    const alpha = Math.sin(w0) / (2 * q);
    const cos = Math.cos(w0);
    const a0 = A + 1 - (A - 1) * cos + 2 * Math.sqrt(A) * alpha;
    return {
      b: [
        (A * (A + 1 + (A - 1) * cos + 2 * Math.sqrt(A) * alpha)) / a0,
        (-2 * A * (A - 1 + (A + 1) * cos)) / a0,
        (A * (A + 1 + (A - 1) * cos - 2 * Math.sqrt(A) * alpha)) / a0,
      ],
      a: [(2 * (A - 1 - (A + 1) * cos)) / a0, (A + 1 - (A - 1) * cos - 2 * Math.sqrt(A) * alpha) / a0],
    } as Biquad;
  })();
  const highPass = (() => {
    const [q, fc] = [0.5003270373238773, 38.13547087602444];
    const w0 = (2 * Math.PI * fc) / sampleRate;
    const alpha = Math.sin(w0) / (2 * q);
    const cos = Math.cos(w0);
    const a0 = 1 + alpha;
    return {
      b: [(1 + cos) / 2 / a0, -(1 + cos) / a0, (1 + cos) / 2 / a0],
      a: [(-2 * cos) / a0, (1 - alpha) / a0],
    } as Biquad;
  })();
  return [shelf, highPass];
}

function filter(samples: Float32Array, { b, a }: Biquad): Float32Array {
  const out = new Float32Array(samples.length);
  let x1 = 0;
  let x2 = 0;
  let y1 = 0;
  let y2 = 0;
  for (let i = 0; i < samples.length; i++) {
    const x = samples[i]!;
    const y = b[0] * x + b[1] * x1 + b[2] * x2 - a[0] * y1 - a[1] * y2;
    x2 = x1;
    x1 = x;
    y2 = y1;
    y1 = y;
    out[i] = y;
  }
  return out;
}

/** The signal as BS.1770 weighs it before squaring. */
export function kWeighted(samples: Float32Array, sampleRate: number): Float32Array {
  const [shelf, highPass] = kWeighting(sampleRate);
  return filter(filter(samples, shelf), highPass);
}

/** The loudness of `weighted[from, to)` (already K-weighted), in LUFS; -Infinity for digital silence. */
export function loudnessOf(weighted: Float32Array, from = 0, to = weighted.length): number {
  const start = Math.max(0, Math.floor(from));
  const end = Math.min(weighted.length, Math.ceil(to));
  if (end <= start) return Number.NEGATIVE_INFINITY;
  let sum = 0;
  for (let i = start; i < end; i++) sum += weighted[i]! * weighted[i]!;
  return -0.691 + 10 * Math.log10(sum / (end - start));
}

/** EBU Tech 3341's short-term window. */
export const SHORT_TERM_MS = 3000;
