/**
 * Where an uploader looks when an upload fails: `<output name>.error.json` beside where the audio would have gone.
 * The uploader never learns the job id (OSS made the job), so the reason must be found from the input's own name.
 */
import type { Bucket } from "../storage/bucket.js";
import type { Job } from "./schema.js";

/** `output/a/b.mp3` → `output/a/b.error.json`. */
export function errorKeyFor(audioKey: string): string {
  const slash = audioKey.lastIndexOf("/");
  const dot = audioKey.lastIndexOf(".");
  return `${dot > slash ? audioKey.slice(0, dot) : audioKey}.error.json`;
}

/** Jobs made from an object in the bucket (an upload, a batch item's `input`) answer beside their output. */
export function answersBeside(job: Job): job is Job & { source: { kind: "oss" } } {
  return job.source.kind === "oss" && !job.parent;
}

/**
 * Writes the error object of a failed job, or removes a stale one when a later upload of the same name succeeded.
 * Both are idempotent: the content comes from the record alone, so a repeated end writes the same bytes.
 */
export async function reportBeside(storage: Bucket, job: Job): Promise<void> {
  if (!answersBeside(job)) return;
  const key = errorKeyFor(job.output.audioKey);
  if (job.state === "done") return storage.delete(key);
  if (job.state !== "failed" || !job.failure) return;
  const body = {
    jobId: job.id,
    state: job.state,
    input: { key: job.source.key, etag: job.source.etag },
    error: { code: job.failure.code, reason: job.failure.reason, at: job.failure.at },
    status: `/v1/jobs/${job.id}`,
  };
  await storage.put(key, `${JSON.stringify(body, null, 2)}\n`, { contentType: "application/json" });
}
