/**
 * Reading jobs: one job's view and its subtitle file (same-origin, for a browser's `<track>`), and finding jobs without
 * their id: `GET /v1/jobs` lists the caller's own jobs, newest first, a page at a time;
 * `GET /v1/jobs?input=<key>` finds the jobs made from an input object (an upload's job, whose id the uploader never
 * saw). Both show only what the caller may read (`canRead`).
 */
import { InputError } from "../errors.js";
import type { Bucket } from "../storage/bucket.js";
import type { OssStorage } from "../storage/oss.js";
import { parseInput } from "../validation.js";
import * as z from "../zod.js";
import { checkInputKey } from "./intake.js";
import { canRead, renderJob } from "./job-view.js";
import { tenantOutputPrefix } from "./output-namespace.js";
import { type JobRecords, PAGE_CURSOR } from "./records.js";
import type { Job } from "./schema.js";

/** A page holds 20 jobs unless asked otherwise, and at most 100: each costs one record read. */
export const JOB_PAGE_DEFAULT = 20;
export const JOB_PAGE_MAX = 100;

export const JobListQuerySchema = z.strictObject({
  limit: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(JOB_PAGE_MAX)), JOB_PAGE_DEFAULT),
  after: z.optional(z.string().check(z.regex(PAGE_CURSOR, "must be the `next` of an earlier page"))),
  input: z.optional(z.string().check(z.minLength(1), z.maxLength(1000))),
  // The credential a browser may send as `?token=` (checked before the query is read; not a listing parameter).
  token: z.optional(z.string()),
});

export interface JobListDeps {
  readonly jobs: JobRecords;
  readonly storage: Pick<OssStorage, "signedUrl">;
  readonly inputPrefix: string;
  readonly outputPrefix: string;
}

/** A job as the API shows it, with a split job's progress read from its parts' records (one read per part, at once). */
export async function viewJob(job: Job, deps: Pick<JobListDeps, "jobs" | "storage">): Promise<Record<string, unknown>> {
  const children = job.parts ? await Promise.all(job.parts.map((p) => deps.jobs.get(p.jobId))) : [];
  return renderJob(job, deps.storage, { children });
}

/** One page of the jobs `owner` may read, by owner or by input; `next` is passed back as `after` for the following one. */
export async function listJobs(
  query: URLSearchParams,
  owner: string,
  deps: JobListDeps,
): Promise<{ jobs: Record<string, unknown>[]; next?: string; outputPrefix: string }> {
  const q = parseInput(JobListQuerySchema, Object.fromEntries(query));
  const by = q.input !== undefined ? { input: checkInputKey(q.input, deps.inputPrefix, "input") } : { owner };
  const page = await deps.jobs.page(by, { limit: q.limit, ...(q.after ? { after: q.after } : {}) });
  const seen = new Set<string>();
  const readable = page.jobs.filter((job: Job) => canRead(job, owner) && !seen.has(job.id) && seen.add(job.id));
  return {
    jobs: await Promise.all(readable.map((job) => viewJob(job, deps))),
    ...(page.next ? { next: page.next } : {}),
    // Where this key's explicit output keys go (`output.key` must start with it).
    outputPrefix: tenantOutputPrefix(deps.outputPrefix, owner),
  };
}

/** A subtitle file served through the API is at most 8 MB (a book's VTT is well under); larger ones via the signed URL. */
export const MAX_SUBTITLE_BYTES = 8 * 1024 * 1024;

/**
 * A done job's subtitle file as text, for `GET /v1/jobs/{id}/subtitles?format=vtt`: a page's `<track>` needs captions
 * from its own origin, and OSS's signed URLs are another origin (a bucket CORS rule this project does not set).
 */
export async function subtitlesOf(
  job: Job,
  format: string | null,
  storage: Bucket,
): Promise<{ body: Buffer; contentType: string }> {
  const kind = parseInput(z._default(z.enum(["vtt", "srt"]), "vtt"), format ?? undefined, "format");
  const key = kind === "vtt" ? job.output.vttKey : job.output.srtKey;
  if (job.state !== "done" || !key || !job.subtitles?.written.includes(kind))
    throw new InputError(
      "format",
      job.state !== "done"
        ? `job ${job.id} is ${job.state}; its subtitles exist once it is done`
        : `job ${job.id} has no ${kind} subtitles${job.subtitles?.reason ? ` (${job.subtitles.reason})` : ""}`,
      { statusCode: 404, code: "NotFound" },
    );
  const head = await storage.head(key);
  if (!head)
    throw new InputError("format", `the ${kind} file ${key} is gone from OSS`, { statusCode: 404, code: "NotFound" });
  if (head.size > MAX_SUBTITLE_BYTES)
    throw new InputError("format", `the ${kind} file is ${head.size} bytes; read it from its signed URL in outputs`, {
      statusCode: 413,
      code: "TooLarge",
      limit: MAX_SUBTITLE_BYTES,
      actual: head.size,
    });
  return {
    body: (await storage.get(key)) ?? Buffer.alloc(0),
    contentType: kind === "vtt" ? "text/vtt; charset=utf-8" : "application/x-subrip; charset=utf-8",
  };
}
