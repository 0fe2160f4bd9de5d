/** A book's chapters against a loudness profile: measured figures, one linear gain each, every figure checked. */
import { describe, expect, it } from "vitest";
import {
  ACX_PROFILE,
  type ChapterFigures,
  checkFigures,
  DEFAULT_PROFILE,
  type LoudnessProfile,
  measureChapter,
  planGains,
  spreadCheck,
} from "../../lib/audio/conformance.js";

const round = (x: number) => Math.round(x * 100) / 100;

/** The book's gains as planned, each chapter's figures with its gain added, checked; and the spread. */
function conformance(chapters: readonly ChapterFigures[], profile: LoudnessProfile = DEFAULT_PROFILE) {
  const reports = planGains(chapters, profile).map((gainDb, i) => {
    const c = chapters[i]!;
    const after: ChapterFigures = {
      integratedLufs: round(c.integratedLufs + gainDb),
      truePeakDbtp: round(c.truePeakDbtp + gainDb),
      rmsDbfs: round(c.rmsDbfs + gainDb),
      noiseFloorDbfs: round(c.noiseFloorDbfs + gainDb),
    };
    return { gainDb, after, checks: checkFigures(after, profile) };
  });
  return {
    chapters: reports,
    spread: spreadCheck(
      reports.map((r) => r.after.integratedLufs),
      profile,
    ),
  };
}

/** `seconds` of a 1 kHz tone at `amplitude` with half a second of room tone at `noise` amplitude before it. */
function chapter(amplitude: number, noise: number, seconds = 4, rate = 16000): Float32Array {
  const out = new Float32Array(rate * (seconds + 0.5));
  for (let i = 0; i < out.length; i++)
    out[i] = i < rate / 2 ? noise * Math.sin(i * 2.1) : amplitude * Math.sin((2 * Math.PI * 1000 * i) / rate);
  return out;
}

describe("conformance", () => {
  it("measures each chapter and brings it to the target with one gain, then checks every figure", () => {
    const figures = [measureChapter(chapter(0.1, 0.0001), 16000), measureChapter(chapter(0.05, 0.0001), 16000)];
    // The tone's level less 3.01 dB, within the blocks that straddle its start.
    expect(Math.abs(figures[0]!.integratedLufs + 23.01)).toBeLessThan(0.2);
    expect(Math.abs(figures[1]!.integratedLufs + 29.03)).toBeLessThan(0.2);
    expect(figures[0]!.noiseFloorDbfs).toBeLessThan(-80);
    const report = conformance(figures);
    expect(report.chapters.map((c) => c.gainDb)).toEqual([expect.closeTo(3, 0), expect.closeTo(9, 0)]);
    expect(report.chapters.map((c) => c.after.integratedLufs)).toEqual([-20, -20]);
    expect(report.chapters.every((c) => Object.values(c.checks).every((k) => k.pass))).toBe(true);
    expect(report.spread).toMatchObject({ pass: true });
    expect(report.spread.value).toBeLessThan(0.1);
  });

  it("lowers a gain that would push the true peak over its ceiling, and fails the loudness it then misses", () => {
    // A tone whose peak is near full scale and whose loudness is low: raising it to −20 LUFS would clip.
    const spiky = new Float32Array(16000 * 4);
    for (let i = 0; i < spiky.length; i++) spiky[i] = (i % 4000 === 0 ? 0.9 : 0.01) * Math.sin(i * 0.39);
    const report = conformance([measureChapter(spiky, 16000)]);
    const [only] = report.chapters;
    expect(only!.after.truePeakDbtp).toBeLessThanOrEqual(-3 + 1e-9);
    expect(only!.checks.truePeak!.pass).toBe(true);
    expect(only!.checks.loudness!.pass).toBe(false);
  });

  it("checks ACX's RMS window and noise floor, and reports a hiss above −60 dBFS", () => {
    const hissy = measureChapter(chapter(0.1, 0.01), 16000);
    const report = conformance([hissy], ACX_PROFILE);
    const checks = report.chapters[0]!.checks;
    expect(checks.rms).toBeDefined();
    expect(checks.noiseFloor!.pass).toBe(false);
    expect(checks.noiseFloor!.value).toBeGreaterThan(-60);
  });
});
