/**
 * An audiobook made from a book's stitched narration: one MP3 per chapter, brought to the profile's loudness by one
 * linear gain each and measured again as encoded; the book's MP3 (those chapters joined, frame to frame, with ID3v2
 * chapters); an M4B (AAC, a chapter track, the book's tags); each chapter's subtitles; and a conformance report.
 *
 * Each chapter is a step that leaves a checkpoint under the jobs prefix once its file is stored: a run that was killed
 * resumes at the first chapter without one, and FFmpeg's encoders are deterministic (one thread, bit-exact flags), so
 * a resumed book is byte for byte the book an unbroken run makes. Audio is streamed through FFmpeg and the function's
 * temporary directory, never held whole in memory.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  type BookEncoding,
  chapterMp3Args,
  ffmetadata,
  MP3_CODEC_DELAY_SAMPLES,
  m4bArgs,
  stretchInput,
} from "../audio/book-encoding.js";
import { type ChapterFigures, planGains } from "../audio/conformance.js";
import { Ffmpeg } from "../audio/ffmpeg.js";
import { measureWithFfmpeg } from "../audio/ffmpeg-meter.js";
import { type ChapterMark, chapterFrames } from "../audio/id3-chapters.js";
import { labelAudio } from "../audio/label-container.js";
import { countMp3Samples, withoutId3 } from "../audio/mp3-stream.js";
import { type Cue, toSrt, toVtt } from "../audio/subtitles.js";
import * as z from "../zod.js";
import { bookReport } from "./book-report.js";
import { jobLabel } from "./job-label.js";
import { streamOf } from "./part-audio.js";
import type { Job } from "./schema.js";
import type { StoreDeps } from "./store-finish.js";

/** The stitched narration a book is made from: its working copy, chapters and cues in its own time. */
export interface StitchedBook {
  readonly sourceKey: string;
  readonly sourceRate: number;
  readonly chapters: readonly ChapterMark[];
  readonly cues: readonly Cue[];
}

/** A figure in dB: JSON has no −∞, so digital silence is written as null and read back as −∞. */
const decibels = z.pipe(
  z.nullable(z.number()),
  z.transform((v) => v ?? Number.NEGATIVE_INFINITY),
);

/** A chapter's figures as a checkpoint keeps them. */
const FiguresSchema = z.object({
  integratedLufs: decibels,
  truePeakDbtp: decibels,
  rmsDbfs: decibels,
  noiseFloorDbfs: decibels,
});

/** What one chapter step leaves: its file and its figures (the checkpoint a resumed run starts from). */
const ChapterStepSchema = z.object({
  bytes: z.int(),
  samples: z.int(),
  rate: z.int(),
  gainDb: z.number(),
  encodings: z.int(),
  before: FiguresSchema,
  after: FiguresSchema,
});
export type ChapterStep = z.infer<typeof ChapterStepSchema>;
/** Every chapter's figures before its gain (the checkpoint the gains are planned from). */
const MeasuredSchema = z.array(FiguresSchema);

export interface RenderedChapter {
  readonly title: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly audioKey: string;
  readonly srtKey?: string;
  readonly vttKey?: string;
}

export interface RenderedBook {
  readonly chapters: readonly RenderedChapter[];
  readonly m4bKey: string;
  readonly reportKey: string;
  /** Every check passed. */
  readonly conforms: boolean;
  /** The checks that failed, as `chapter 3: loudness`. */
  readonly failed: readonly string[];
  /** A time in the stitched narration, in the book's MP3 and M4B. */
  toBookMs(ms: number): number;
}

/** The keys a book's outputs go to, beside its audio key (`out/b.mp3` → `out/b.m4b`, `out/b.chapters/001.mp3`). */
export function bookKeys(audioKey: string) {
  const base = audioKey.replace(/\.[^./]+$/, "");
  const chapter = (i: number, ext: string) => `${base}.chapters/${String(i + 1).padStart(3, "0")}.${ext}`;
  return { m4b: `${base}.m4b`, report: `${base}.conformance.json`, chapter };
}

export async function renderAudiobook(
  job: Job,
  book: StitchedBook,
  encoding: BookEncoding,
  deps: StoreDeps,
): Promise<RenderedBook> {
  const ffmpeg = deps.ffmpeg ?? new Ffmpeg({ path: "ffmpeg" });
  const keys = bookKeys(job.output.audioKey);
  const label = jobLabel(job, deps.aigcProducer);
  const stepKey = (i: number) => deps.jobs.bookStepKey(job.id, `chapter-${String(i + 1).padStart(3, "0")}`);
  const dir = await mkdtemp(join(deps.workDir ?? tmpdir(), `book-${job.id}-`));
  try {
    const steps: (ChapterStep | undefined)[] = await Promise.all(
      book.chapters.map(async (_, i) => {
        const body = await deps.storage.get(stepKey(i));
        if (!body) return undefined;
        const step = ChapterStepSchema.parse(JSON.parse(body.toString("utf8")));
        const stored = await deps.storage.head(keys.chapter(i, "mp3"));
        return stored?.size === step.bytes ? step : undefined;
      }),
    );
    if (steps.some((s) => !s)) {
      const source = join(dir, "source.mp3");
      await pipeline(await deps.storage.getStream(book.sourceKey), createWriteStream(source));
      // Every chapter is measured before any is encoded: the gains are planned for the book as a whole.
      const measuredKey = deps.jobs.bookStepKey(job.id, "measured");
      const kept = await deps.storage.get(measuredKey);
      const before = kept
        ? MeasuredSchema.parse(JSON.parse(kept.toString("utf8")))
        : await eachChapter(async (i) => {
            const c = book.chapters[i]!;
            return measureWithFfmpeg(ffmpeg, stretchInput(source, c.startMs, c.endMs));
          });
      if (!kept) await deps.storage.put(measuredKey, JSON.stringify(before), { contentType: "application/json" });
      const gains = planGains(before, encoding.loudness);
      await eachChapter(async (i) => {
        if (steps[i]) return;
        const step = await encodeChapter(i, source, dir, before[i]!, gains[i]!);
        await deps.storage.put(stepKey(i), JSON.stringify(step), { contentType: "application/json" });
        steps[i] = step;
        deps.log.info("book chapter encoded", { jobId: job.id, chapter: i + 1, gainDb: step.gainDb });
      });
    }
    const done = steps as ChapterStep[];
    const rate = done[0]!.rate;
    // Each chapter file starts where the one before it ends, to the sample: the chapter marks are these boundaries.
    // Its speech starts after the room tone and the codec's delay (no LAME header tells a decoder to skip it).
    let at = 0;
    const spans = done.map((s) => {
      const startMs = (at / rate) * 1000;
      at += s.samples;
      return { startMs, endMs: (at / rate) * 1000 };
    });
    const leadMs = encoding.roomToneHeadMs + (MP3_CODEC_DELAY_SAMPLES / rate) * 1000;
    const toBookMs = (ms: number) => {
      let i = book.chapters.findIndex((c) => ms < c.endMs);
      if (i < 0) i = book.chapters.length - 1;
      return spans[i]!.startMs + leadMs + (ms - book.chapters[i]!.startMs);
    };
    const marks = book.chapters.map((c, i) => ({ title: c.title, ...spans[i]! }));
    await writeBookMp3(marks);
    await writeM4b(marks, book.sourceRate);
    const chapters = await writeChapterSubtitles(marks, leadMs);
    const report = bookReport({
      encoding,
      steps: done,
      marks,
      tocChapters: job.chapters?.length ?? marks.length,
      sourceRate: book.sourceRate,
      chapterKey: (i) => keys.chapter(i, "mp3"),
    });
    await deps.storage.put(keys.report, `${JSON.stringify(report, null, 2)}\n`, {
      contentType: "application/json; charset=utf-8",
    });
    return {
      chapters,
      m4bKey: keys.m4b,
      reportKey: keys.report,
      conforms: report.failed.length === 0,
      failed: report.failed,
      toBookMs,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  /** `work` for every chapter, BOOK_RENDER_CONCURRENCY at once; the results in chapter order. */
  async function eachChapter<T>(work: (i: number) => Promise<T>): Promise<T[]> {
    const results: T[] = [];
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < book.chapters.length; i = next++) results[i] = await work(i);
    };
    await Promise.all(Array.from({ length: Math.max(1, deps.renderConcurrency ?? 2) }, worker));
    return results;
  }

  /** One chapter: its planned gain, encoded, measured again as encoded (and once more if the codec's peaks rose). */
  async function encodeChapter(
    i: number,
    source: string,
    dir: string,
    before: ChapterFigures,
    planned: number,
  ): Promise<ChapterStep> {
    const c = book.chapters[i]!;
    const input = stretchInput(source, c.startMs, c.endMs);
    const out = join(dir, `chapter-${i + 1}.mp3`);
    let gainDb = planned;
    let after: ChapterFigures | undefined;
    let encodings = 0;
    for (;;) {
      encodings++;
      await ffmpeg.run(chapterMp3Args({ input, encoding, sourceRate: book.sourceRate, gainDb, output: out }));
      after = await measureWithFfmpeg(ffmpeg, ["-i", out]);
      // Encoding moves peaks between samples: over the ceiling, the gain is lowered by the excess, once.
      const over = after.truePeakDbtp - encoding.loudness.maxTruePeakDbtp;
      if (over <= 0 || encodings > 1) break;
      gainDb = Math.round((gainDb - over - 0.1) * 100) / 100;
    }
    const { samples, rate } = await countMp3Samples(createReadStream(out));
    const labelled = await labelAudio("mp3", createReadStream(out), label);
    const stored = await deps.storage.putStream(keys.chapter(i, "mp3"), labelled.stream, {
      contentType: "audio/mpeg",
      partSize: deps.partSize,
      meta: { jobid: job.id },
    });
    return { bytes: stored.size, samples, rate, gainDb, encodings, before, after };
  }

  /** The chapters joined frame to frame under one tag: the label and the chapter table. */
  async function writeBookMp3(marks: readonly ChapterMark[]): Promise<void> {
    const joined = async function* () {
      for (let i = 0; i < marks.length; i++) yield* withoutId3(streamOf(deps.storage, keys.chapter(i, "mp3")));
    };
    const tagged = await labelAudio("mp3", joined(), label, chapterFrames(marks));
    await deps.storage.putStream(job.output.audioKey, tagged.stream, {
      contentType: "audio/mpeg",
      partSize: deps.partSize,
      meta: { jobid: job.id },
    });
  }

  /** The M4B: the book's MP3 as FFmpeg's input, AAC out to a file (its index goes first), then stored. */
  async function writeM4b(marks: readonly ChapterMark[], rate: number): Promise<void> {
    const metadataFile = join(dir, "chapters.txt");
    await writeFile(
      metadataFile,
      ffmetadata({
        ...(job.book?.title ? { title: job.book.title } : {}),
        ...(job.book?.author ? { author: job.book.author } : {}),
        label: JSON.stringify(label.aigc),
        chapters: marks,
      }),
    );
    const output = join(dir, "book.m4b");
    const coverFile = job.book?.coverKey ? join(dir, `cover${job.book.coverKey.replace(/^.*(\.[^.]+)$/, "$1")}`) : "";
    if (coverFile) await pipeline(await deps.storage.getStream(job.book!.coverKey!), createWriteStream(coverFile));
    await ffmpeg.run(m4bArgs({ encoding, rate, metadataFile, output, ...(coverFile ? { coverFile } : {}) }), {
      stdin: Readable.from(withoutId3(streamOf(deps.storage, job.output.audioKey))),
    });
    await deps.storage.putStream(keys.m4b, createReadStream(output), {
      contentType: "audio/mp4",
      partSize: deps.partSize,
      meta: { jobid: job.id },
    });
  }

  /** Each chapter's cues, in its own file's time, as SRT and VTT (as the job asked). */
  async function writeChapterSubtitles(marks: readonly ChapterMark[], leadMs: number): Promise<RenderedChapter[]> {
    const wanted = job.options.subtitles;
    return Promise.all(
      marks.map(async (mark, i) => {
        const c = book.chapters[i]!;
        const shift = (ms: number) => Math.round(ms - c.startMs + leadMs);
        const cues = book.cues
          .filter((q) => q.begin_time >= c.startMs && q.begin_time < c.endMs)
          .map((q) => ({ text: q.text, begin_time: shift(q.begin_time), end_time: shift(q.end_time) }));
        const out: RenderedChapter = { ...mark, audioKey: keys.chapter(i, "mp3") };
        if (cues.length === 0) return out;
        const srtKey = wanted.includes("srt") ? keys.chapter(i, "srt") : undefined;
        const vttKey = wanted.includes("vtt") ? keys.chapter(i, "vtt") : undefined;
        if (srtKey) await deps.storage.put(srtKey, toSrt(cues), { contentType: "application/x-subrip; charset=utf-8" });
        if (vttKey) await deps.storage.put(vttKey, toVtt(cues), { contentType: "text/vtt; charset=utf-8" });
        return { ...out, ...(srtKey ? { srtKey } : {}), ...(vttKey ? { vttKey } : {}) };
      }),
    );
  }
}
