/**
 * Audiobooks end to end: a 40-chapter EPUB through `POST /v1/books` becomes an M4B with a chapter track and the book's
 * tags, an MP3 with ID3 chapters, an MP3 and subtitles per chapter, and a conformance report. Each is read back
 * independently: ffprobe for containers, chapters and tags, FFmpeg's decoder with the TypeScript meter for loudness.
 * The ACX profile's encoding and room tone are checked frame by frame, and a store killed half-way resumes to outputs
 * byte-identical to an unbroken run's, without synthesizing anything again.
 */

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { measureChapter } from "../../lib/audio/conformance.js";
import { Ffmpeg } from "../../lib/audio/ffmpeg.js";
import { readLabel } from "../../lib/audio/label-container.js";
import { mp3Frames } from "../../lib/audio/mp3.js";
import type { Job } from "../../lib/jobs/schema.js";
import { storeOutputs } from "../../lib/jobs/store-audio.js";
import { epubOf, fixtureBook } from "../helpers/book-fixture.js";
import { decodeSamples, ffprobe } from "../helpers/ffprobe.js";
import { useFunctionHost } from "../helpers/function-host.js";
import { settle as settleAll } from "../helpers/jobs.js";
import { useLocalCloud, userOss } from "../helpers/local-cloud.js";

const cloud = useLocalCloud({ engine: new FastEngine(), longText: { queueMs: 5, runMs: 5 } });
const KEY = "audiobook-key";
const host = useFunctionHost(cloud, { TTS_API_KEYS: KEY, JOBS_PART_CONCURRENCY: "8" });
const settle = () => settleAll(host, cloud());

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "audiobook-test-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function submitBook(body: Record<string, unknown>): Promise<Job> {
  const res = await fetch(`${host.url}/v1/books`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.status, await res.clone().text()).toBe(202);
  const { id } = (await res.json()) as { id: string };
  await settle();
  const job = (await host.platform.jobs().jobs.get(id)) as Job;
  expect(job.state, JSON.stringify(job.failure)).toBe("done");
  return job;
}

/** An output saved to the test's directory, for ffprobe and FFmpeg. */
async function saved(key: string): Promise<string> {
  const file = join(dir, key.replace(/[^\w.-]+/g, "_"));
  await writeFile(file, (await userOss(cloud()).get(key)).content as Buffer);
  return file;
}

const sha256 = async (key: string) =>
  createHash("sha256")
    .update((await userOss(cloud()).get(key)).content as Buffer)
    .digest("hex");

/** Every output of a book, by key, with its SHA-256. */
async function outputHashes(job: Job): Promise<Record<string, string>> {
  const book = job.book!.outputs!;
  const keys = [
    job.output.audioKey,
    book.m4bKey,
    book.reportKey,
    ...book.chapters.flatMap((c) => [c.audioKey, c.srtKey, c.vttKey].filter((k): k is string => !!k)),
  ];
  return Object.fromEntries(await Promise.all(keys.map(async (k) => [k, await sha256(k)] as const)));
}

describe("audiobooks", () => {
  const book = fixtureBook(40, Number(process.env.AUDIOBOOK_CHARS_EACH ?? 7500));
  let cover: Buffer;
  beforeAll(async () => {
    // A 64 × 64 JPEG made by FFmpeg, as the EPUB's cover-image.
    const file = join(dir, "cover.jpg");
    await promisify(execFile)("ffmpeg", [
      "-v",
      "error",
      "-f",
      "lavfi",
      "-i",
      "color=c=navy:s=64x64",
      "-frames:v",
      "1",
      file,
    ]);
    cover = await readFile(file);
  });

  it("makes a 40-chapter EPUB into an M4B, a chaptered MP3, chapter files and a report that meet every figure", async () => {
    const job = await submitBook({
      epub: epubOf({ ...book, cover }).toString("base64"),
      voice: "siqi",
      subtitles: ["srt", "vtt"],
    });
    const outputs = job.book!.outputs!;
    expect(outputs.chapters).toHaveLength(40);
    // Every audio output carries the AI-generated-content label: each chapter's and the book's ID3 tag, the M4B below.
    for (const key of [outputs.chapters[0]!.audioKey, outputs.chapters[39]!.audioKey, job.output.audioKey]) {
      const head = (await userOss(cloud()).get(key)).content as Buffer;
      expect(readLabel(head.subarray(0, 4096))?.aigc.ProduceID, key).toBe(job.id);
    }
    // The M4B: AAC, the book's tags, one chapter per entry of the table of contents, titles in order.
    const m4b = await ffprobe(await saved(outputs.m4bKey));
    // AAC, the chapter track (a text track ffprobe calls bin_data), and the EPUB's cover as the attached picture.
    expect(m4b.streams.map((s) => s.codec_name)).toEqual(["aac", "bin_data", "mjpeg"]);
    expect(m4b.streams[2]!.disposition?.attached_pic).toBe(1);
    expect(m4b.format.tags?.title).toBe(book.title);
    expect(m4b.format.tags?.artist).toBe(book.author);
    expect(m4b.format.tags?.comment).toMatch(/"Label"|AIGC|ContentProducer/);
    expect(m4b.chapters.map((c) => c.tags?.title)).toEqual(book.chapters.map((c) => c.title));
    // The MP3: ID3 chapters as ffprobe reads them, the same titles.
    const mp3File = await saved(job.output.audioKey);
    const mp3 = await ffprobe(mp3File);
    expect(mp3.chapters.map((c) => c.tags?.title)).toEqual(book.chapters.map((c) => c.title));
    // Every mark is within one codec frame (26 ms) of the boundary measured from the chapter files' own lengths.
    let boundary = 0;
    const chapterFiles: string[] = [];
    for (const [i, c] of outputs.chapters.entries()) {
      const file = await saved(c.audioKey);
      chapterFiles.push(file);
      expect(Math.abs(Number(m4b.chapters[i]!.start_time) - boundary) * 1000).toBeLessThanOrEqual(26);
      expect(Math.abs(Number(mp3.chapters[i]!.start_time) - boundary) * 1000).toBeLessThanOrEqual(26);
      boundary += Number((await ffprobe(file)).format.duration);
    }
    expect(Math.abs(Number(mp3.format.duration) - boundary) * 1000).toBeLessThanOrEqual(26);
    // Loudness measured independently on each encoded chapter: −20 ± 1 LUFS, ≤ −3 dBTP, floor ≤ −60 dBFS, spread ≤ 1.
    const levels: number[] = [];
    for (const file of chapterFiles) {
      const figures = measureChapter(await decodeSamples(file), Number((await ffprobe(file)).streams[0]!.sample_rate));
      expect(Math.abs(figures.integratedLufs + 20)).toBeLessThanOrEqual(1);
      expect(figures.truePeakDbtp).toBeLessThanOrEqual(-3);
      expect(figures.noiseFloorDbfs).toBeLessThanOrEqual(-60);
      levels.push(figures.integratedLufs);
    }
    expect(Math.max(...levels) - Math.min(...levels)).toBeLessThanOrEqual(1);
    // The report says the same, per chapter and for the book.
    const report = JSON.parse((await userOss(cloud()).get(outputs.reportKey)).content.toString()) as {
      conforms: boolean;
      chapterCount: { value: number; pass: boolean };
      chapters: Array<{ after: { integratedLufs: number } }>;
    };
    expect(report.conforms).toBe(true);
    expect(report.chapterCount).toMatchObject({ value: 40, pass: true });
    for (const [i, c] of report.chapters.entries())
      expect(Math.abs(c.after.integratedLufs - levels[i]!)).toBeLessThanOrEqual(0.2);
    // The book's subtitles follow the book's MP3: each chapter's first cue starts where its speech starts (± 100 ms).
    const cues = parseSrt((await userOss(cloud()).get(job.output.srtKey!)).content.toString());
    const rate = Number(mp3.streams[0]!.sample_rate);
    for (const c of mp3.chapters) {
      const start = Number(c.start_time) * 1000;
      const first = cues.find((q) => q.begin_time >= start - 100)!;
      // The first 4 s of the chapter, decoded from the book's MP3 itself.
      const head = await decodeSamples(mp3File, undefined, ["-ss", (start / 1000).toFixed(3), "-t", "4"]);
      expect(Math.abs(first.begin_time - (start + speechOnsetMs(head, rate, 0)))).toBeLessThanOrEqual(100);
    }
    // Each chapter's own subtitles start in its own file's time.
    const own = parseSrt((await userOss(cloud()).get(outputs.chapters[1]!.srtKey!)).content.toString());
    expect(own[0]!.begin_time).toBeLessThan(1000);
    // The job shows its outputs with signed URLs.
    const view = (await (
      await fetch(`${host.url}/v1/jobs/${job.id}`, { headers: { authorization: `Bearer ${KEY}` } })
    ).json()) as { outputs: { m4b: { url: string }; chapters: unknown[] }; book: { conforms: boolean } };
    expect(view.outputs.m4b.url).toMatch(/^http/);
    expect(view.outputs.chapters).toHaveLength(40);
    expect(view.book.conforms).toBe(true);
  }, 900_000);
});

/** An SRT's cues, in ms. */
function parseSrt(srt: string): Array<{ begin_time: number; end_time: number; text: string }> {
  const ms = (t: string) => {
    const [h, m, s] = t.replace(",", ".").split(":").map(Number);
    return Math.round(((h! * 60 + m!) * 60 + s!) * 1000);
  };
  return srt
    .trim()
    .split(/\n\s*\n/)
    .map((block) => {
      const [, times, ...text] = block.split("\n");
      const [begin, end] = times!.split(" --> ");
      return { begin_time: ms(begin!), end_time: ms(end!), text: text.join(" ") };
    });
}

/** Where speech starts at or after `fromMs`: the first 10 ms block above −50 dBFS. */
function speechOnsetMs(samples: Float32Array, rate: number, fromMs: number): number {
  const block = Math.round(rate / 100);
  for (let at = Math.round((fromMs / 1000) * rate); at + block <= samples.length; at += block) {
    let sum = 0;
    for (let i = at; i < at + block; i++) sum += samples[i]! * samples[i]!;
    if (10 * Math.log10(sum / block) > -50) return (at / rate) * 1000;
  }
  return Number.NaN;
}

describe("audiobooks: the ACX profile and a killed store", () => {
  it("encodes every ACX chapter as 192 kbit/s constant-bitrate MP3 at 44.1 kHz with room tone, and says it was upsampled", async () => {
    const job = await submitBook({
      chapters: fixtureBook(3, 600).chapters.map((c) => ({ title: c.title, text: c.paragraphs.join("\n") })),
      title: "Three",
      profile: "acx",
      voice: "siqi",
    });
    const report = JSON.parse((await userOss(cloud()).get(job.book!.outputs!.reportKey)).content.toString()) as {
      profile: string;
      upsampledFrom?: number;
      chapters: Array<{ checks: Record<string, { value: number; pass: boolean }> }>;
    };
    expect(report.profile).toBe("acx");
    expect(report.upsampledFrom).toBe(16000);
    for (const [i, c] of job.book!.outputs!.chapters.entries()) {
      const bytes = (await userOss(cloud()).get(c.audioKey)).content as Buffer;
      // Every frame: MPEG-1 Layer III, 44.1 kHz, 192 kbit/s (626 or 627 bytes with padding). Constant, not average.
      const frames = mp3Frames(bytes);
      expect(frames.length).toBeGreaterThan(100);
      expect(frames.every((f) => f.sampleRate === 44100 && f.samples === 1152)).toBe(true);
      expect(frames.every((f) => f.length === 626 || f.length === 627)).toBe(true);
      // Room tone: at least 0.5 s of silence before the first word (at most 1 s), 1–5 s after the last.
      const samples = await decodeSamples(await saved(c.audioKey));
      const onset = speechOnsetMs(samples, 44100, 0);
      expect(onset).toBeGreaterThanOrEqual(500);
      expect(onset).toBeLessThanOrEqual(1000);
      const tail = samples.length / 44.1 - lastSpeechMs(samples, 44100);
      expect(tail).toBeGreaterThanOrEqual(1000);
      expect(tail).toBeLessThanOrEqual(5000);
      // ACX's figures, measured independently, agree with the report's.
      const figures = measureChapter(samples, 44100);
      expect(Math.abs(figures.rmsDbfs - report.chapters[i]!.checks.rms!.value)).toBeLessThanOrEqual(0.3);
      expect(figures.truePeakDbtp).toBeLessThanOrEqual(-3);
      expect(report.chapters[i]!.checks.duration!.pass).toBe(true);
    }
  }, 300_000);

  it("resumes a store killed half-way to outputs byte-identical to an unbroken run's, synthesizing nothing again", async () => {
    const job = await submitBook({
      chapters: fixtureBook(6, 400).chapters.map((c) => ({ title: c.title, text: c.paragraphs.join("\n") })),
      title: "Six",
      voice: "siqi",
      subtitles: ["srt"],
    });
    const unbroken = await outputHashes(job);
    const tasks = cloud().nls.longText.stats.submitted;
    const rt = host.platform.jobs();
    const storage = rt.clients.storage;
    // Back to where store found it: synthesized, nothing stored; every output gone.
    const { result: _r, subtitles: _s, coverage: _c, seams: _m, book, ...before } = job;
    await storage.put(
      `jobs/records/${job.id}.json`,
      JSON.stringify({ ...before, state: "synthesized", book: { ...book, outputs: undefined } }),
    );
    for (const key of Object.keys(unbroken)) await userOss(cloud()).delete(key);
    /** FFmpeg that dies at its `killAt`th run (the function killed mid-step), counting every run. */
    class Killable extends Ffmpeg {
      runs = 0;
      constructor(readonly killAt = Number.POSITIVE_INFINITY) {
        super({ path: "ffmpeg" });
      }
      override async run(...args: Parameters<Ffmpeg["run"]>): Promise<string> {
        if (++this.runs === this.killAt) throw new Error("killed");
        return super.run(...args);
      }
    }
    const deps = (ffmpeg: Ffmpeg) => ({
      jobs: rt.jobs,
      service: rt.service,
      storage,
      log: rt.log,
      audioHosts: rt.config.NLS_AUDIO_HOSTS,
      ffmpeg,
      renderConcurrency: 1,
    });
    // Six measurements, then two runs a chapter (encode, measure again): the 11th is chapter 3's encoding.
    await expect(storeOutputs(job.id, deps(new Killable(11)))).rejects.toThrow("killed");
    const resumed = new Killable();
    expect(await storeOutputs(job.id, deps(resumed))).toBe("done");
    // The measurements and chapters 1–2 were kept from their checkpoints: four chapters encoded, and the M4B.
    expect(resumed.runs).toBe(4 * 2 + 1);
    const after = (await rt.jobs.get(job.id)) as Job;
    expect(after.state).toBe("done");
    expect(await outputHashes(after)).toEqual(unbroken);
    expect(cloud().nls.longText.stats.submitted).toBe(tasks);
    // No working file is left under the jobs prefix.
    expect((await storage.list(`jobs/book/${job.id}/`)).objects).toEqual([]);
  }, 300_000);
});

/** Where the last speech ends: the end of the last 10 ms block above −50 dBFS. */
function lastSpeechMs(samples: Float32Array, rate: number): number {
  const block = Math.round(rate / 100);
  for (let at = samples.length - block; at >= 0; at -= block) {
    let sum = 0;
    for (let i = at; i < at + block; i++) sum += samples[i]! * samples[i]!;
    if (10 * Math.log10(sum / block) > -50) return ((at + block) / rate) * 1000;
  }
  return 0;
}
