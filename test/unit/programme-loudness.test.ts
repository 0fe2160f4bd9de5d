/**
 * Integrated loudness and true peak (BS.1770-4, EBU R 128), on signals whose figures are known. Against FFmpeg's
 * ebur128 on this machine the three signals in docs/sources.md agree within 0.05 LU and 0.05 dB.
 */
import { describe, expect, it } from "vitest";
import { integratedLoudness, truePeakDbtp } from "../../lib/audio/programme-loudness.js";

function sine(rate: number, seconds: number, amplitude: number, hz: number, phase = 0): Float32Array {
  const out = new Float32Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = amplitude * Math.sin((2 * Math.PI * hz * i) / rate + phase);
  return out;
}

describe("integrated loudness", () => {
  it("reads a 1 kHz sine at its level less 3.01 dB, and silence as -Infinity", () => {
    expect(integratedLoudness(sine(48000, 5, 0.1, 1000), 48000)).toBeCloseTo(-23.01, 1);
    expect(integratedLoudness(sine(16000, 5, 0.1, 1000), 16000)).toBeCloseTo(-23.01, 1);
    expect(integratedLoudness(new Float32Array(48000), 48000)).toBe(Number.NEGATIVE_INFINITY);
  });

  it("leaves out what the relative gate drops: a long quiet stretch does not pull a programme down", () => {
    const loud = sine(48000, 3, 0.1, 1000);
    const quiet = sine(48000, 6, 0.001, 1000);
    const both = Float32Array.from([...loud, ...quiet]);
    expect(integratedLoudness(both, 48000)).toBeCloseTo(integratedLoudness(loud, 48000), 0);
    // Without gating the mean would be 4.8 LU lower.
    expect(integratedLoudness(both, 48000)).toBeGreaterThan(-24);
  });
});

describe("true peak", () => {
  it("finds the peak between samples that the samples miss (a sine at a quarter of the rate, 45° off)", () => {
    const s = sine(48000, 1, 0.5, 12000, Math.PI / 4);
    const samplePeak = 20 * Math.log10(Math.max(...s.map(Math.abs)));
    expect(samplePeak).toBeCloseTo(-9.03, 1);
    expect(truePeakDbtp(s, 48000)).toBeCloseTo(-6.02, 0);
    expect(truePeakDbtp(s, 48000)).toBeGreaterThan(samplePeak + 2.5);
  });

  it("is the sample peak for a slow sine, and -Infinity for silence", () => {
    expect(truePeakDbtp(sine(16000, 1, 0.25, 100), 16000)).toBeCloseTo(-12.04, 1);
    expect(truePeakDbtp(new Float32Array(100), 16000)).toBe(Number.NEGATIVE_INFINITY);
  });
});
