/**
 * `npm run bench:audiobook`: making the audiobook of a long book from its stitched narration, as the `store` step
 * does it (lib/jobs/render-audiobook.ts): every chapter measured, gained, encoded and measured again, the book's MP3
 * joined, the M4B encoded, the report written.
 *
 * The narration is `hours` of 16 kHz, 32 kbit/s MP3 made once by FFmpeg (tone bursts with half-second pauses, their
 * level drifting over the hour so that chapters need different gains), cut into 40 chapters. The bucket is a folder on
 * the local disk, so the peak RSS is the pipeline's own: this process's, and the largest FFmpeg's (read by GNU time
 * around each run). Rows: assembly in × real time (issue 30 asks at least 50×), peak RSS (at most 512 MB for a
 * 10-hour book with BOOK_RENDER_CONCURRENCY FFmpegs at once), both profiles. Bounded by: FFmpeg's CPU on this
 * machine's 2 cores.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type BookProfileName, bookEncoding } from "../lib/audio/book-encoding.js";
import { Ffmpeg } from "../lib/audio/ffmpeg.js";
import { JobRecords } from "../lib/jobs/records.js";
import { renderAudiobook } from "../lib/jobs/render-audiobook.js";
import type { Job } from "../lib/jobs/schema.js";
import type { StoreDeps } from "../lib/jobs/store-finish.js";
import { createLogger } from "../lib/log.js";
import { fixtureBook } from "../test/helpers/book-fixture.js";
import { withFastStack } from "./fast-stack.js";
import { FileBucket } from "./file-bucket.js";
import type { Row } from "./nls-short.js";

const run = promisify(execFile);

/** The narration: `hours` of tone bursts at 16 kHz, made once and kept in the system's temporary folder. */
async function narration(hours: number): Promise<string> {
  const file = join(tmpdir(), `bench-narration-${hours}h.mp3`);
  if (existsSync(file)) return file;
  const expression = "0.25*(1+0.6*sin(2*PI*t/2700))*sin(2*PI*220*t)*lt(mod(t\\,3)\\,2.5)";
  await run("ffmpeg", [
    ...["-v", "error", "-y", "-f", "lavfi", "-i", `aevalsrc=${expression}:s=16000:d=${hours * 3600}`],
    ...["-c:a", "libmp3lame", "-b:a", "32k", "-write_xing", "0", "-f", "mp3", `${file}.part`],
  ]);
  await run("mv", [`${file}.part`, file]);
  return file;
}

export async function benchAudiobook(
  hours = Number(process.env.BOOK_HOURS ?? 10),
  profiles: readonly BookProfileName[] = ["default", "acx"],
): Promise<Row[]> {
  const source = await narration(hours);
  const rows: Row[] = [];
  for (const profile of profiles) {
    const dir = await mkdtemp(join(tmpdir(), "bench-audiobook-"));
    try {
      const storage = new FileBucket(join(dir, "bucket"));
      await storage.putStream("jobs/assembly/bench.mp3", await new FileBucket("/").getStream(source.slice(1)));
      // Each FFmpeg's peak RSS, by GNU time, one line per run.
      const rssLog = join(dir, "rss.log");
      const wrapper = join(dir, "ffmpeg");
      await writeFile(wrapper, `#!/bin/sh\nexec /usr/bin/time -f %M -a -o ${rssLog} ffmpeg "$@"\n`);
      await chmod(wrapper, 0o755);
      const chapterMs = (hours * 3_600_000) / 40;
      const chapters = Array.from({ length: 40 }, (_, i) => ({
        title: `Chapter ${i + 1}`,
        startMs: i * chapterMs,
        endMs: (i + 1) * chapterMs,
      }));
      const job = {
        id: "bench",
        provider: "nls",
        options: { voice: "siqi", format: "mp3", sampleRate: 16000, subtitles: [] },
        output: { audioKey: "out/book.mp3" },
        chapters: chapters.map((c, i) => ({ title: c.title, part: i })),
        book: { title: "Bench", profile },
      } as unknown as Job;
      const deps = {
        jobs: new JobRecords(storage),
        storage,
        log: createLogger({ level: "warn" }),
        ffmpeg: new Ffmpeg({ path: wrapper }),
        workDir: dir,
        renderConcurrency: 2,
      } as unknown as StoreDeps;
      const started = performance.now();
      const rendered = await renderAudiobook(
        job,
        { sourceKey: "jobs/assembly/bench.mp3", sourceRate: 16000, chapters, cues: [] },
        bookEncoding(profile),
        deps,
      );
      const seconds = (performance.now() - started) / 1000;
      const childPeaks = (await readFile(rssLog, "utf8"))
        .split("\n")
        .map(Number)
        .filter((n) => n > 0);
      const childMb = Math.max(...childPeaks) / 1024;
      const selfMb = process.resourceUsage().maxRSS / 1024;
      const speed = (hours * 3600) / seconds;
      rows.push(
        {
          name: `audiobook: ${hours} h, 40 chapters, ${profile} profile: assembly (${childPeaks.length} FFmpeg runs)`,
          value: `${(seconds / 60).toFixed(1)} min`,
          reference: `${speed.toFixed(0)}× real time, target ≥ 50×${rendered.conforms ? "" : `; failed: ${rendered.failed.slice(0, 3).join(", ")}`} (bounded by: FFmpeg on 2 cores, 2 at once; a local-disk bucket)`,
          ratio: (50 / speed).toFixed(2),
        },
        {
          name: `audiobook: ${hours} h, ${profile} profile: peak RSS, this process + 2 × the largest FFmpeg`,
          value: `${(selfMb + 2 * childMb).toFixed(0)} MB`,
          reference: `node ${selfMb.toFixed(0)} MB, FFmpeg ${childMb.toFixed(0)} MB; target ≤ 512 MB (bounded by: streaming, no whole book in memory)`,
          ratio: ((selfMb + 2 * childMb) / 512).toFixed(2),
        },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

/**
 * A whole book job on the local cloud (the fast engine, NLS's emulator with no queueing, in this process): its wall
 * time from submission to done against the ideal, the provider's waves as they ran plus the store step alone (timed
 * again on the same job, reset to synthesized). The difference is what the hand-offs between them cost.
 */
export async function benchBookJob(chapters = 40, charsEach = 1500): Promise<Row[]> {
  const key = "bench-key";
  return withFastStack("book-job", { TTS_API_KEYS: key, JOBS_PART_CONCURRENCY: "8" }, async ({ host }) => {
    const book = fixtureBook(chapters, charsEach);
    const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
    const started = Date.now();
    const res = await fetch(`${host.url}/v1/books`, {
      method: "POST",
      headers,
      body: JSON.stringify({
        chapters: book.chapters.map((c) => ({ title: c.title, text: c.paragraphs.join("\n") })),
        voice: "siqi",
      }),
    });
    const { id } = (await res.json()) as { id: string };
    const rt = host.platform.jobs();
    let job = (await rt.jobs.get(id))!;
    while (job.state !== "done" && job.state !== "failed") {
      await new Promise((r) => setTimeout(r, 200));
      job = (await rt.jobs.get(id))!;
    }
    if (job.state !== "done") throw new Error(`the book job failed: ${job.failure?.reason}`);
    const wall = Date.now() - started;
    const waves = Date.parse(job.synthesizedAt!) - Date.parse(job.createdAt);
    // The store step alone: the same job back at synthesized, its outputs made again from its parts.
    const { result: _r, subtitles: _s, coverage: _c, seams: _m, book: settings, ...before } = job;
    await rt.clients.storage.put(
      `jobs/records/${job.id}.json`,
      JSON.stringify({ ...before, state: "synthesized", book: { ...settings, outputs: undefined } }),
    );
    const t = Date.now();
    await rt.storeOutputs(job.id);
    const store = Date.now() - t;
    const audioMinutes = (job.book!.outputs!.chapters.at(-1)!.endMs / 60_000).toFixed(0);
    return [
      {
        name: `audiobook job: ${chapters} chapters, ${(chapters * charsEach).toLocaleString("en")} characters (${audioMinutes} min), submitted to done`,
        value: `${(wall / 1000).toFixed(1)} s`,
        reference: `ideal ${((waves + store) / 1000).toFixed(1)} s: waves ${(waves / 1000).toFixed(1)} s + store alone ${(store / 1000).toFixed(1)} s; target ≤ 1.1× (bounded by: the fast engine and FFmpeg sharing 2 cores)`,
        ratio: (wall / (waves + store)).toFixed(2),
      },
    ];
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printTable } = await import("./table.js");
  // BOOK_PROFILES=acx runs one profile; BOOK_JOB=skip leaves out the whole job's row.
  const profiles = (process.env.BOOK_PROFILES?.split(",") ?? ["default", "acx"]) as BookProfileName[];
  printTable([
    ...(process.env.BOOK_JOB === "skip" ? [] : await benchBookJob()),
    ...(await benchAudiobook(undefined, profiles)),
  ]);
}
