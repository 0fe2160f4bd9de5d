/**
 * A book's conformance report: every figure measured on its encoded chapter files, with its limit and whether it
 * passed, the chapters' spread, the chapter count against the table of contents, and how the files were encoded.
 */
import type { BookEncoding } from "../audio/book-encoding.js";
import { type Check, checkFigures, spreadCheck } from "../audio/conformance.js";
import type { ChapterMark } from "../audio/id3-chapters.js";
import type { ChapterStep } from "./render-audiobook.js";

export function bookReport(input: {
  readonly encoding: BookEncoding;
  /** Each chapter's step: its gain and its figures before and after. */
  readonly steps: readonly ChapterStep[];
  /** Each chapter where it is in the book's MP3. */
  readonly marks: readonly ChapterMark[];
  /** The chapters the book's table of contents lists. */
  readonly tocChapters: number;
  readonly sourceRate: number;
  readonly chapterKey: (i: number) => string;
}) {
  const { encoding, steps, marks } = input;
  const profile = encoding.loudness;
  const chapters = steps.map((s, i) => {
    const checks: Record<string, Check> = checkFigures(s.after, profile);
    const minutes = (marks[i]!.endMs - marks[i]!.startMs) / 60_000;
    if (encoding.maxFileMinutes)
      checks.duration = {
        value: Math.round(minutes * 100) / 100,
        limit: `≤ ${encoding.maxFileMinutes} min`,
        pass: minutes <= encoding.maxFileMinutes,
      };
    return {
      title: marks[i]!.title,
      startMs: Math.round(marks[i]!.startMs),
      durationMs: Math.round(marks[i]!.endMs - marks[i]!.startMs),
      file: input.chapterKey(i),
      gainDb: s.gainDb,
      before: s.before,
      after: s.after,
      checks,
    };
  });
  const spread = spreadCheck(
    steps.map((s) => s.after.integratedLufs),
    profile,
  );
  const chapterCount: Check = {
    value: marks.length,
    limit: `= ${input.tocChapters} (the table of contents)`,
    pass: marks.length === input.tocChapters,
  };
  const failed = [
    ...chapters.flatMap((c, i) =>
      Object.entries(c.checks)
        .filter(([, check]) => !check.pass)
        .map(([name]) => `chapter ${i + 1}: ${name}`),
    ),
    ...(spread.pass ? [] : ["spread"]),
    ...(chapterCount.pass ? [] : ["chapterCount"]),
  ];
  const outRate = steps[0]!.rate;
  return {
    profile: encoding.name,
    targetLufs: profile.targetLufs,
    measuredBy: "FFmpeg ebur128 (ITU-R BS.1770-4, true peak oversampled) and astats, on the encoded chapter files",
    sampleRate: outRate,
    ...(outRate > input.sourceRate
      ? { upsampledFrom: input.sourceRate, note: `upsampled from ${input.sourceRate} Hz` }
      : {}),
    mp3: { kbps: encoding.mp3Kbps(outRate), constantBitrate: true },
    roomTone: { headMs: encoding.roomToneHeadMs, tailMs: encoding.roomToneTailMs },
    chapterCount,
    spread,
    chapters,
    failed,
    conforms: failed.length === 0,
  };
}
