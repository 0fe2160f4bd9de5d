/**
 * An audiobook's chapters against a loudness profile, measured, not trusted: each chapter's integrated loudness, true
 * peak, RMS and noise floor, the linear gain that brings it to the target (never compression: one gain per chapter,
 * lowered where it would push the true peak over its ceiling), and the figures after that gain, each passed or failed.
 * The default profile is EBU R 128's −20 LUFS with a −3 dBTP ceiling; `acx` adds ACX's published figures: RMS between
 * −23 and −18 dBFS, peaks at most −3 dB, a noise floor at most −60 dBFS.
 */
import { integratedLoudness, truePeakDbtp } from "./programme-loudness.js";

export interface LoudnessProfile {
  readonly targetLufs: number;
  /** How far a chapter may land from the target, in LU. */
  readonly toleranceLu: number;
  /** The most the chapters' loudness may differ from one another, in LU. */
  readonly maxSpreadLu: number;
  readonly maxTruePeakDbtp: number;
  readonly maxNoiseFloorDbfs: number;
  /** ACX's RMS window, in dBFS; none in the default profile. */
  readonly rmsDbfs?: readonly [number, number];
}

export const DEFAULT_PROFILE: LoudnessProfile = {
  targetLufs: -20,
  toleranceLu: 1,
  maxSpreadLu: 1,
  maxTruePeakDbtp: -3,
  maxNoiseFloorDbfs: -60,
};

/** ACX's audio submission requirements; its RMS window's middle is the target. */
export const ACX_PROFILE: LoudnessProfile = { ...DEFAULT_PROFILE, targetLufs: -20, rmsDbfs: [-23, -18] };

export interface ChapterFigures {
  readonly integratedLufs: number;
  readonly truePeakDbtp: number;
  readonly rmsDbfs: number;
  /** The RMS of the quietest half second: the room tone between the words. */
  readonly noiseFloorDbfs: number;
}

const db = (power: number) => 10 * Math.log10(power);

export function measureChapter(samples: Float32Array, sampleRate: number): ChapterFigures {
  let sum = 0;
  for (const s of samples) sum += s * s;
  const window = Math.round(sampleRate / 2);
  let quietest = Number.POSITIVE_INFINITY;
  for (let start = 0; start + window <= samples.length; start += Math.round(window / 2)) {
    let w = 0;
    for (let i = start; i < start + window; i++) w += samples[i]! * samples[i]!;
    quietest = Math.min(quietest, w / window);
  }
  return {
    integratedLufs: integratedLoudness(samples, sampleRate),
    truePeakDbtp: truePeakDbtp(samples, sampleRate),
    rmsDbfs: db(sum / Math.max(1, samples.length)),
    noiseFloorDbfs: Number.isFinite(quietest) ? db(quietest) : Number.NEGATIVE_INFINITY,
  };
}

export interface Check {
  readonly value: number;
  readonly limit: string;
  readonly pass: boolean;
}

const round = (x: number) => (Number.isFinite(x) ? Math.round(x * 100) / 100 : x);

/**
 * The one linear gain that brings `figures` to the profile's target; where it would lift the true peak over the
 * ceiling, it is lowered to meet the ceiling (never compression).
 */
export function chapterGain(figures: ChapterFigures, profile: LoudnessProfile = DEFAULT_PROFILE): number {
  const wanted = Number.isFinite(figures.integratedLufs) ? profile.targetLufs - figures.integratedLufs : 0;
  const room = Number.isFinite(figures.truePeakDbtp) ? profile.maxTruePeakDbtp - figures.truePeakDbtp : wanted;
  return round(Math.min(wanted, room));
}

/**
 * One linear gain per chapter for a whole book: each chapter as near the target as its true peak allows, and no
 * chapter more than the profile's spread (less a quarter LU for the codec) above the quietest one can reach. A voice
 * whose peaks stand too far above its loudness cannot reach the target under the ceiling without compression, which
 * is never applied: those chapters land below it (and fail loudness), the book stays even (and passes spread).
 */
export function planGains(chapters: readonly ChapterFigures[], profile: LoudnessProfile = DEFAULT_PROFILE): number[] {
  const reach = chapters.map((c) =>
    Number.isFinite(c.integratedLufs)
      ? Math.min(profile.targetLufs, c.integratedLufs + chapterGain(c, profile))
      : Number.POSITIVE_INFINITY,
  );
  const floor = Math.min(...reach);
  const ceiling = floor + profile.maxSpreadLu - 0.25;
  return chapters.map((c, i) =>
    Number.isFinite(c.integratedLufs) ? round(Math.min(reach[i]!, ceiling) - c.integratedLufs) : 0,
  );
}

/** Each of a chapter's figures against `profile`: value, limit, pass. */
export function checkFigures(after: ChapterFigures, profile: LoudnessProfile = DEFAULT_PROFILE): Record<string, Check> {
  return {
    loudness: {
      value: round(after.integratedLufs),
      limit: `${profile.targetLufs} ± ${profile.toleranceLu} LUFS`,
      pass: Math.abs(after.integratedLufs - profile.targetLufs) <= profile.toleranceLu,
    },
    truePeak: {
      value: round(after.truePeakDbtp),
      limit: `≤ ${profile.maxTruePeakDbtp} dBTP`,
      pass: after.truePeakDbtp <= profile.maxTruePeakDbtp + 1e-9,
    },
    noiseFloor: {
      value: round(after.noiseFloorDbfs),
      limit: `≤ ${profile.maxNoiseFloorDbfs} dBFS`,
      pass: after.noiseFloorDbfs <= profile.maxNoiseFloorDbfs,
    },
    ...(profile.rmsDbfs
      ? {
          rms: {
            value: round(after.rmsDbfs),
            limit: `${profile.rmsDbfs[0]} to ${profile.rmsDbfs[1]} dBFS`,
            pass: after.rmsDbfs >= profile.rmsDbfs[0] && after.rmsDbfs <= profile.rmsDbfs[1],
          },
        }
      : {}),
  };
}

/** How far apart the chapters' loudness lies, against the profile's spread. */
export function spreadCheck(levels: readonly number[], profile: LoudnessProfile = DEFAULT_PROFILE): Check {
  const finite = levels.filter(Number.isFinite);
  const spread = finite.length ? round(Math.max(...finite) - Math.min(...finite)) : 0;
  return { value: spread, limit: `≤ ${profile.maxSpreadLu} LU`, pass: spread <= profile.maxSpreadLu };
}
