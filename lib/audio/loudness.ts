/**
 * Loudness as ITU-R BS.1770 defines it, for one channel: the signal K-weighted (a high shelf of about +4 dB above
 * 1.5 kHz, then a high-pass at 38 Hz), its mean square over the span, and L = -0.691 + 10·log10(mean square) in LUFS.
 * EBU Tech 3341's short-term loudness is this over 3 s, ungated. The two biquads are derived for any sample rate,
 * since providers speak at 8 to 48 kHz, not only at BS.1770's 48.
 */

interface Biquad {
  readonly b: readonly [number, number, number];
  readonly a: readonly [number, number];
}

/**
 * The pre-filter's shelf and the RLB high-pass for `sampleRate`, from their analogue parameters as libebur128 derives
 * them (after Brecht De Man); at 48 kHz they are BS.1770's published coefficients.
 */
function kWeighting(sampleRate: number): readonly [Biquad, Biquad] {
  let K = Math.tan((Math.PI * 1681.974450955533) / sampleRate);
  let Q = 0.7071752369554196;
  const Vh = 10 ** (3.999843853973347 / 20);
  const Vb = Vh ** 0.4996667741545416;
  let a0 = 1 + K / Q + K * K;
  const shelf: Biquad = {
    b: [(Vh + (Vb * K) / Q + K * K) / a0, (2 * (K * K - Vh)) / a0, (Vh - (Vb * K) / Q + K * K) / a0],
    a: [(2 * (K * K - 1)) / a0, (1 - K / Q + K * K) / a0],
  };
  K = Math.tan((Math.PI * 38.13547087602444) / sampleRate);
  Q = 0.5003270373238773;
  a0 = 1 + K / Q + K * K;
  const highPass: Biquad = { b: [1, -2, 1], a: [(2 * (K * K - 1)) / a0, (1 - K / Q + K * K) / a0] };
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

/** BS.1770's loudness of a K-weighted mean square, in LUFS. */
export const lufs = (meanSquare: number): number => -0.691 + 10 * Math.log10(meanSquare);

/** The loudness of `weighted[from, to)` (already K-weighted), in LUFS; -Infinity for digital silence. */
export function loudnessOf(weighted: Float32Array, from = 0, to = weighted.length): number {
  const start = Math.max(0, Math.floor(from));
  const end = Math.min(weighted.length, Math.ceil(to));
  if (end <= start) return Number.NEGATIVE_INFINITY;
  let sum = 0;
  for (let i = start; i < end; i++) sum += weighted[i]! * weighted[i]!;
  return lufs(sum / (end - start));
}

/** EBU Tech 3341's short-term window. */
export const SHORT_TERM_MS = 3000;
