/**
 * What `reconcile` does with one unfinished job, decided from the record and the clock alone (no I/O), so the whole
 * policy is one table a unit test can read. `JobService.reconcile` carries the decision out.
 */
import { LONG_TEXT_DEADLINE_MS, LONG_TEXT_RETENTION_MS } from "../providers/nls/long-text.js";
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
  /** Nothing yet: too recent, or a part whose parent submits it when a slot frees. */
  | { readonly kind: "wait" };

export function reconcileAction(job: Job, nowMs: number, staleAfterMs: number): ReconcileAction {
  // NLS promises a task's result within 3 hours and keeps its audio 7 days (seed 003). The 3 hours are per provider
  // task: a split job's parts each get their own, and a batch item's clock runs only once it has a slot.
  const waitingForSlot = job.state === "queued" && (job.batch !== undefined || job.parent !== undefined);
  const taskStarted = Date.parse(job.task?.submittedAt ?? job.createdAt);
  if (
    !job.parts &&
    (job.state === "submitted" || (job.state === "queued" && !waitingForSlot)) &&
    nowMs - taskStarted > LONG_TEXT_DEADLINE_MS
  ) {
    return {
      kind: "fail",
      code: "Timeout",
      reason: "the provider did not finish the task within 3 hours, the time NLS promises for a long-text task",
    };
  }
  if (job.task?.finishedAt && nowMs - Date.parse(job.task.finishedAt) > LONG_TEXT_RETENTION_MS) {
    return {
      kind: "fail",
      code: "AudioExpired",
      reason: "the synthesized audio was not stored within the 7 days NLS keeps it",
    };
  }
  const idle = nowMs - Date.parse(job.updatedAt);
  // A split job is driven while its parts run; once assembled (synthesized), it is stored like any job, and a lost
  // hand-off to store is re-invoked (a simulated crash after the assembly's election found it never was).
  if (job.parts && job.state === "submitted") return { kind: "drive-parent", force: idle >= staleAfterMs };
  if (idle < staleAfterMs) return { kind: "wait" };
  if (job.state === "queued") return job.parent ? { kind: "wait" } : { kind: "resubmit" };
  if (job.state === "submitted") return { kind: "poll" };
  return { kind: "restore" };
}
