/**
 * `reconcile`'s pass over unfinished jobs: each whose step is overdue is driven again (resubmitted when queued, polled
 * when its callback never came, handed to `store` again when synthesized), and a job past its provider's promise or
 * its audio's retention fails with that reason. What to do is `reconcileAction`'s decision; this only does it.
 */

import type { JobContext, JobSteps } from "./job-deps.js";
import { reconcileAction } from "./reconcile-policy.js";
import type { Job } from "./schema.js";
import { isTerminal } from "./schema.js";

export class JobReconciler {
  constructor(
    private readonly ctx: JobContext,
    private readonly steps: JobSteps,
  ) {}

  /** Ends a queued part whose parent has ended (it will never submit it): cancelled with it, or failed. */
  async #endOrphan(part: Job): Promise<boolean> {
    const parent = await this.ctx.deps.jobs.get(part.parent!.id);
    if (parent && !isTerminal(parent.state)) return false;
    const cancelled = await this.ctx.cancelledAt(part);
    if (cancelled) await this.steps.endCancelled(part, cancelled);
    else await this.steps.fail(part, "ParentEnded", "the job it is a part of had already ended");
    return true;
  }

  async reconcile(): Promise<Record<string, number>> {
    const { deps } = this.ctx;
    const counts: Record<string, number> = { seen: 0, resubmitted: 0, polled: 0, restored: 0, failed: 0 };
    const now = this.ctx.now().getTime();
    for await (const id of deps.jobs.pending()) {
      const job = await deps.jobs.get(id);
      if (!job || isTerminal(job.state)) continue;
      counts.seen!++;
      const action = reconcileAction(job, now, this.ctx.staleAfterMs, deps.providers[job.provider]);
      try {
        switch (action.kind) {
          case "fail":
            await this.steps.fail(job, action.code, action.reason);
            counts.failed!++;
            break;
          case "drive-parent":
            await this.steps.driveParent(job, { force: action.force });
            counts.polled!++;
            break;
          case "resubmit":
            await this.steps.submit(job, { force: true });
            counts.resubmitted!++;
            break;
          case "poll":
            await this.steps.pollTask(job, { force: true });
            counts.polled!++;
            break;
          case "restore":
            await deps.invoker.invokeAsync("store", { jobId: job.id });
            counts.restored!++;
            break;
          case "end-if-orphaned":
            if (await this.#endOrphan(job)) counts.failed!++;
            break;
          case "wait":
            break;
        }
      } catch (error) {
        deps.log.warn("reconcile step failed; next run retries", { jobId: id, error });
      }
    }
    return counts;
  }
}
