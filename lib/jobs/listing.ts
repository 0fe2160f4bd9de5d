/**
 * Finding jobs without their id: `GET /v1/jobs` lists the caller's own jobs, newest first, a page at a time;
 * `GET /v1/jobs?input=<key>` finds the jobs made from an input object (an upload's job, whose id the uploader never
 * saw). Both show only what the caller may read (`canRead`).
 */
import { z } from "zod";
import type { OssStorage } from "../storage/oss.js";
import { parseInput } from "../validation.js";
import { canRead, checkInputKey, jobView } from "./intake.js";
import { type JobRecords, PAGE_CURSOR } from "./records.js";
import type { Job } from "./schema.js";

/** A page holds 20 jobs unless asked otherwise, and at most 100: each costs one record read. */
export const JOB_PAGE_DEFAULT = 20;
export const JOB_PAGE_MAX = 100;

export const JobListQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(JOB_PAGE_MAX).default(JOB_PAGE_DEFAULT),
    after: z.string().regex(PAGE_CURSOR, "must be the `next` of an earlier page").optional(),
    input: z.string().min(1).max(1000).optional(),
  })
  .strict();

export interface JobListDeps {
  readonly jobs: JobRecords;
  readonly storage: Pick<OssStorage, "signedUrl">;
  readonly inputPrefix: string;
}

/** A job as the API shows it, with a split job's progress read from its parts' records (one read per part, at once). */
export async function viewJob(job: Job, deps: Pick<JobListDeps, "jobs" | "storage">): Promise<Record<string, unknown>> {
  const children = job.parts ? await Promise.all(job.parts.map((p) => deps.jobs.get(p.jobId))) : [];
  return jobView(job, deps.storage, { children });
}

/** One page of the jobs `owner` may read, by owner or by input; `next` is passed back as `after` for the following one. */
export async function listJobs(
  query: URLSearchParams,
  owner: string,
  deps: JobListDeps,
): Promise<{ jobs: Record<string, unknown>[]; next?: string }> {
  const q = parseInput(JobListQuerySchema, Object.fromEntries(query));
  const by = q.input !== undefined ? { input: checkInputKey(q.input, deps.inputPrefix, "input") } : { owner };
  const page = await deps.jobs.page(by, { limit: q.limit, ...(q.after ? { after: q.after } : {}) });
  const seen = new Set<string>();
  const readable = page.jobs.filter((job: Job) => canRead(job, owner) && !seen.has(job.id) && seen.add(job.id));
  return {
    jobs: await Promise.all(readable.map((job) => viewJob(job, deps))),
    ...(page.next ? { next: page.next } : {}),
  };
}
