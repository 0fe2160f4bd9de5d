/**
 * How far a job has come, as `GET /v1/jobs/{id}` shows it: parts done of total, characters synthesized and billed, and
 * when it should finish. Computed from the record and (for a split job) its parts' records, with no I/O of its own.
 */
import type { Job, JobState } from "./schema.js";

/**
 * Characters per second a long-text task is assumed to synthesize at before any of the job's own parts has finished:
 * NLS says 50,000 characters take 10 minutes at the fastest (seed 003), about 83 per second.
 */
export const NOMINAL_CHARS_PER_SECOND = 50_000 / 600;

/** States in which a job's (or part's) characters have been synthesized, and so billed by the provider. */
const SYNTHESIZED: readonly JobState[] = ["synthesized", "stored", "done"];

export interface JobProgress {
  readonly parts: { readonly done: number; readonly total: number };
  /**
   * Counted as the provider bills (SSML tags excluded): `total` for the whole job, `synthesized` so far, and `billed`,
   * which is more than `synthesized` when a part was synthesized and then had to be made again.
   */
  readonly characters: { readonly total: number; readonly synthesized: number; readonly billed: number };
  /** While the job runs: when it should finish, from its own parts' pace once one has finished, else the nominal rate. */
  readonly estimate?: {
    readonly finishesAt: string;
    readonly secondsLeft: number;
    readonly basis: "observed" | "nominal";
    /**
     * How much of the whole is done, 0 to 0.99 while the job runs: the time so far over the time expected, never less
     * than the characters synthesized. It moves within a part too, where no provider reports its own progress (NLS's
     * long-text status says only that a task runs).
     */
    readonly fractionDone: number;
  };
}

/** `children` are the records of `job.parts` in order (undefined where one is missing), ignored for a job not split. */
export function progressOf(job: Job, children: readonly (Job | undefined)[], now: Date): JobProgress {
  const units = job.parts
    ? job.parts.map((p, i) => ({
        state: children[i]?.state ?? "queued",
        characters: p.characters,
        billedBefore: p.billedBefore ?? 0,
      }))
    : [{ state: job.state, characters: job.characters, billedBefore: 0 }];
  // A split job's parts are all done before the job is stored: its own state says when the whole is.
  const done = job.state === "done" ? units.length : units.filter((u) => u.state === "done").length;
  const synthesized = units
    .filter((u) => job.state === "done" || SYNTHESIZED.includes(u.state))
    .reduce((sum, u) => sum + u.characters, 0);
  const billed = synthesized + units.reduce((sum, u) => sum + u.billedBefore, 0);
  const progress = { parts: { done, total: units.length }, characters: { total: job.characters, synthesized, billed } };
  if (job.state === "done" || job.state === "failed") return progress;
  const started = Date.parse(job.createdAt);
  const elapsed = Math.max(0, (now.getTime() - started) / 1000);
  const observed = synthesized > 0 && job.parts !== undefined && elapsed > 0;
  const rate = observed ? synthesized / elapsed : NOMINAL_CHARS_PER_SECOND;
  // Nominally the whole job takes total/rate from its start; observed, the rest takes what is left at the pace so far.
  const secondsLeft = observed
    ? (job.characters - synthesized) / rate
    : Math.max(0, (job.characters - synthesized) / rate - elapsed);
  const byTime = elapsed + secondsLeft > 0 ? elapsed / (elapsed + secondsLeft) : 0;
  const fractionDone = Math.min(0.99, Math.max(job.characters > 0 ? synthesized / job.characters : 0, byTime));
  return {
    ...progress,
    estimate: {
      finishesAt: new Date(now.getTime() + secondsLeft * 1000).toISOString(),
      secondsLeft: Math.round(secondsLeft),
      basis: observed ? "observed" : "nominal",
      fractionDone: Math.round(fractionDone * 100) / 100,
    },
  };
}
