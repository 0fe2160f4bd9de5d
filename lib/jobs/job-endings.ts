/** How a job ends: failed with its reason (from any state before done), and whoever waits on it told once it has. */
import { answersBeside, errorKeyFor, reportBeside } from "./error-object.js";
import type { JobContext, JobSteps } from "./job-deps.js";
import { type Job, transition } from "./schema.js";

/** Why a job cancelled before its task started ended: the one reason every such end gives. */
export const CANCELLED_UNSTARTED = "cancelled before it started: nothing was billed";

export class JobEndings {
  constructor(
    private readonly ctx: JobContext,
    private readonly steps: JobSteps,
  ) {}

  async fail(job: Job, code: string, reason: string): Promise<Job> {
    const { deps } = this.ctx;
    const latest = (await deps.jobs.get(job.id)) ?? job;
    const next = transition(
      latest,
      "failed",
      { failure: { code, reason, at: this.ctx.now().toISOString() } },
      this.ctx.now(),
    );
    if (!next) return latest;
    await deps.jobs.put(next);
    deps.log.warn("job failed", { jobId: job.id, code, reason });
    await this.ended(next);
    return next;
  }

  /**
   * Ends a cancelled job that has nothing left running: failed with code `Cancelled`, saying what was billed (by
   * default, nothing: it never started).
   */
  async endCancelled(job: Job, at: Date, billedCharacters = 0, reason = CANCELLED_UNSTARTED): Promise<Job> {
    const { deps } = this.ctx;
    const latest = (await deps.jobs.get(job.id)) ?? job;
    const next = transition(
      latest,
      "failed",
      {
        failure: { code: "Cancelled", reason, at: this.ctx.now().toISOString() },
        cancelled: { at: at.toISOString(), billedCharacters },
      },
      this.ctx.now(),
    );
    if (!next) return latest;
    await deps.jobs.put(next);
    deps.log.info("job cancelled", { jobId: job.id, billedCharacters });
    await this.ended(next);
    return next;
  }

  /** Tells whoever waits on a job (an uploader, a parent, a batch) that it has ended. */
  async ended(job: Job): Promise<void> {
    const { deps } = this.ctx;
    if (answersBeside(job) && job.state === "failed")
      deps.log.error("upload failed", {
        jobId: job.id,
        input: job.source.key,
        errorKey: errorKeyFor(job.output.audioKey),
        code: job.failure?.code,
        reason: job.failure?.reason,
      });
    await reportBeside(deps.storage, job);
    if (job.parent && job.state === "done") await this.steps.driveParentOf(job);
    await deps.onEnded?.(job);
  }
}
