import { type Job, JobOptionsSchema } from "../../lib/jobs/schema.js";

/** A job record with plain defaults (queued, NLS, default options, created at `at`), for tests of pure policies. */
export function jobRecord(fields: Partial<Job>, at = "2026-11-30T00:00:00.000Z"): Job {
  return {
    id: "job-1",
    state: "queued",
    provider: "nls",
    createdAt: at,
    updatedAt: at,
    idempotencyKey: "k",
    source: { kind: "inline" },
    ssml: false,
    characters: 1,
    options: JobOptionsSchema.parse({}) as Job["options"],
    output: { audioKey: "output/a.mp3" },
    ...fields,
  };
}
