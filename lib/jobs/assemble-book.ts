/**
 * A book's `store` step: its parts stitched once into a working copy under the jobs prefix, the audiobook made from
 * that copy (lib/jobs/render-audiobook.ts), every cue and join moved to where it is heard in the book's MP3, and the
 * job marked done with the book's outputs on its record.
 *
 * Steps leave checkpoints (`jobs/book/<id>/`): the stitched copy's chapters and cues, then each chapter's file. A
 * killed run resumes after the last checkpoint; nothing is synthesized again. The working files are deleted once the
 * job is done (a crash between the two leaves them, harmless, under the jobs prefix).
 */
import { bookEncoding } from "../audio/book-encoding.js";
import { keysUnder } from "../storage/bucket.js";
import { type StitchedParts, stitchParts } from "./assemble-parts.js";
import { renderAudiobook } from "./render-audiobook.js";
import type { Job } from "./schema.js";
import { finish, type StoreDeps } from "./store-finish.js";

export async function assembleBook(job: Job, deps: StoreDeps): Promise<"done" | "skipped"> {
  const settings = job.book ?? { profile: "default" as const };
  const sourceKey = deps.jobs.assemblyKey(job.id, job.options.format);
  const checkpoint = deps.jobs.bookStepKey(job.id, "stitched");
  let stitched = await readStitched(job, deps, checkpoint, sourceKey);
  if (!stitched) {
    stitched = await stitchParts(job, deps, sourceKey);
    await deps.storage.put(checkpoint, JSON.stringify(stitched), { contentType: "application/json" });
  }
  const rendered = await renderAudiobook(
    job,
    {
      sourceKey,
      sourceRate: job.options.sampleRate,
      chapters: stitched.joined.chapters ?? [],
      cues: stitched.cues,
    },
    bookEncoding(settings.profile, settings.targetLufs),
    deps,
  );
  if (!rendered.conforms) deps.log.warn("book does not conform", { jobId: job.id, failed: rendered.failed });
  const at = (ms: number) => Math.round(rendered.toBookMs(ms));
  const { joined } = stitched;
  const result = await finish(
    job,
    await deps.storage.head(job.output.audioKey),
    stitched.cues.map((c) => ({ ...c, begin_time: at(c.begin_time), end_time: at(c.end_time) })),
    deps,
    {
      partStarts: joined.partStarts.map(at),
      partMs: joined.partMs,
      ...(joined.seams
        ? { seams: { ...joined.seams, entries: joined.seams.entries.map((e) => ({ ...e, atMs: at(e.atMs) })) } }
        : {}),
      chapters: rendered.chapters.map((c) => ({ title: c.title, startMs: c.startMs, endMs: c.endMs })),
    },
    {
      book: {
        ...settings,
        outputs: {
          m4bKey: rendered.m4bKey,
          reportKey: rendered.reportKey,
          conforms: rendered.conforms,
          failed: [...rendered.failed],
          chapters: rendered.chapters.map((c) => ({ ...c })),
        },
      },
    },
  );
  await removeWorkingFiles(job, deps, sourceKey);
  return result;
}

/** The stitched copy's checkpoint, when the copy it describes is still there. */
async function readStitched(
  job: Job,
  deps: StoreDeps,
  checkpoint: string,
  sourceKey: string,
): Promise<StitchedParts | undefined> {
  const body = await deps.storage.get(checkpoint);
  if (!body || !(await deps.storage.head(sourceKey))) return undefined;
  deps.log.info("book resumes after stitching", { jobId: job.id });
  return JSON.parse(body.toString("utf8")) as StitchedParts;
}

async function removeWorkingFiles(job: Job, deps: StoreDeps, sourceKey: string): Promise<void> {
  for await (const key of keysUnder(deps.storage, deps.jobs.bookStepPrefix(job.id))) await deps.storage.delete(key);
  await deps.storage.delete(sourceKey);
  if (job.book?.coverKey) await deps.storage.delete(job.book.coverKey);
}
