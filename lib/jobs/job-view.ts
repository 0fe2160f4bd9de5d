/**
 * A job as the API shows it, and who may see it: the one body `GET /v1/jobs/{id}` and `GET /v1/jobs` answer for a job
 * (state, progress, signed output URLs once done), and the access rule every read of a job goes through.
 */
import type { OssStorage } from "../storage/oss.js";
import { progressOf } from "./progress.js";
import type { Job } from "./schema.js";

/**
 * Whether `owner` may see `job`: a job created through the API only by the key that created it; the operator's own
 * jobs (OSS uploads and EventBridge batches, which need the bucket's or the bus's credentials) by any configured key.
 */
export function canRead(job: Pick<Job, "owner">, owner: string): boolean {
  return job.owner === undefined || job.owner === owner;
}

/**
 * The job as `GET /v1/jobs/{id}` shows it: state, progress, and output keys with signed URLs once done. `children`
 * are a split job's parts' records (for its progress).
 */
export function renderJob(
  job: Job,
  storage: Pick<OssStorage, "signedUrl">,
  opts: { children?: readonly (Job | undefined)[]; now?: Date; urlTtlSeconds?: number } = {},
): Record<string, unknown> {
  const urlTtlSeconds = opts.urlTtlSeconds ?? 3600;
  const signed = (key: string) => ({ key, url: storage.signedUrl(key, { expiresSeconds: urlTtlSeconds }) });
  const book = job.state === "done" ? job.book?.outputs : undefined;
  const outputs =
    job.state === "done"
      ? Object.fromEntries(
          (
            [
              ["audio", job.output.audioKey],
              ["srt", job.output.srtKey],
              ["vtt", job.output.vttKey],
              // Which sentence of the text is heard where, and how each join sounds (lib/jobs/coverage-map.ts).
              ["map", job.coverage?.mapKey ?? job.seams?.mapKey],
            ] as const
          )
            .filter(([, k]) => k)
            .map(([name, key]) => [name, signed(key!)]),
        )
      : undefined;
  // A book's audiobook: its M4B, its conformance report, and each chapter's files.
  if (outputs && book)
    Object.assign(outputs, {
      m4b: signed(book.m4bKey),
      conformance: signed(book.reportKey),
      chapters: book.chapters.map((c) => ({
        title: c.title,
        startMs: c.startMs,
        endMs: c.endMs,
        audio: signed(c.audioKey),
        ...(c.srtKey ? { srt: signed(c.srtKey) } : {}),
        ...(c.vttKey ? { vtt: signed(c.vttKey) } : {}),
      })),
    });
  return {
    id: job.id,
    // A cancelled job's record is failed (its machine has ended); its owner sees why, and what it billed.
    state: job.cancelled ? "cancelled" : job.state,
    ...(job.cancelled ? { cancelled: job.cancelled } : {}),
    provider: job.provider,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    characters: job.characters,
    progress: progressOf(job, opts.children ?? [], opts.now ?? new Date()),
    options: job.options,
    output: job.output,
    ...(outputs ? { outputs, size: job.result?.size } : {}),
    ...(job.subtitles ? { subtitles: job.subtitles } : {}),
    ...(job.coverage
      ? { coverage: { heard: job.coverage.heard, total: job.coverage.total, missing: job.coverage.missing } }
      : {}),
    ...(job.book
      ? {
          book: {
            ...(job.book.title ? { title: job.book.title } : {}),
            ...(job.book.author ? { author: job.book.author } : {}),
            profile: job.book.profile,
            ...(job.book.outputs ? { conforms: job.book.outputs.conforms, failed: job.book.outputs.failed } : {}),
          },
        }
      : {}),
    ...(job.seams ? { seams: (({ mapKey: _, ...summary }) => summary)(job.seams) } : {}),
    ...(job.source.kind === "oss" && job.source.optionsFrom ? { optionsFrom: job.source.optionsFrom } : {}),
    ...(job.failure ? { failure: job.failure } : {}),
  };
}
