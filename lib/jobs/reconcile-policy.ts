/**
 * What `reconcile` does with one unfinished job, decided from the record and the clock alone (no I/O), so the whole
 * policy is one table a unit test can read. `JobService.reconcile` carries the decision out.
 */
import type { JobProvider } from "./providers.js";
import type { Job } from "./schema.js";

export type ReconcileAction =
  /** Past a promise the provider made: the job fails with this reason. */
  | { readonly kind: "fail"; readonly code: string; readonly reason: string }
  /** A split job: move its parts along; `force` re-drives an assembly whose elected caller died. */
  | { readonly kind: "drive-parent"; readonly force: boolean }
  /** Queued past the grace period (its submission failed, or its submitter died): submit it again. */
  | { readonly kind: "resubmit" }
  /** Submitted past the grace period (a lost callback): ask the provider. */
  | { readonly kind: "poll" }
  /** Synthesized or stored past the grace period (store crashed or its invocation was lost): invoke store again. */
  | { readonly kind: "restore" }
  /**
   * A part queued past the grace period: its parent submits it when a slot frees, unless the parent has ended (a part
   * made as its parent was cancelled or failed): then it ends too, so nothing is left pending.
   */
  | { readonly kind: "end-if-orphaned" }
  /** Nothing yet: too recent, or a part whose parent submits it when a slot frees. */
  | { readonly kind: "wait" };

/**
 * `limits`: the job's provider's task deadline and audio retention (its port's); a provider this deployment no longer
 * has keeps the 3 hours, so its jobs still end.
 */
export function reconcileAction(
  job: Job,
  nowMs: number,
  staleAfterMs: number,
  limits: Pick<JobProvider, "deadline" | "retention"> = FALLBACK_LIMITS,
): ReconcileAction {
  // The deadline is per provider task: a split job's parts each get their own, and a batch item's clock runs only
  // once it has a slot.
  const waitingForSlot = job.state === "queued" && (job.batch !== undefined || job.parent !== undefined);
  const taskStarted = Date.parse(job.task?.submittedAt ?? job.createdAt);
  if (
    !job.parts &&
    (job.state === "submitted" || (job.state === "queued" && !waitingForSlot)) &&
    nowMs - taskStarted > limits.deadline.ms
  ) {
    return {
      kind: "fail",
      code: "Timeout",
      reason: `the provider did not finish the task within ${limits.deadline.says}`,
    };
  }
  const { retention } = limits;
  if (retention && job.task?.finishedAt && nowMs - Date.parse(job.task.finishedAt) > retention.ms) {
    return {
      kind: "fail",
      code: "AudioExpired",
      reason: `the synthesized audio was not stored within ${retention.says}`,
    };
  }
  const idle = nowMs - Date.parse(job.updatedAt);
  // A split job is driven while its parts run; once assembled (synthesized), it is stored like any job, and a lost
  // hand-off to store is re-invoked (a simulated crash after the assembly's election found it never was).
  if (job.parts && job.state === "submitted") return { kind: "drive-parent", force: idle >= staleAfterMs };
  if (idle < staleAfterMs) return { kind: "wait" };
  if (job.state === "queued") return job.parent ? { kind: "end-if-orphaned" } : { kind: "resubmit" };
  if (job.state === "submitted") return { kind: "poll" };
  return { kind: "restore" };
}

const FALLBACK_LIMITS: Pick<JobProvider, "deadline" | "retention"> = {
  deadline: { ms: 3 * 3600_000, says: "3 hours" },
};
