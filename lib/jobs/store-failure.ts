/**
 * What reconcile does when FC delivers store's onFailure record (s.yaml: store's retries spent, reconcile its
 * destination): one more attempt at once, in another function's instance, instead of waiting for the job to go stale.
 * A terminal failure fails the job with the reason FC recorded and this attempt's own; a transient one leaves the job
 * pending, so reconcile's timer re-drives it, and its provider's deadline and retention still end it.
 */
import { codeOf, reasonOf } from "../errors.js";
import type { Logger } from "../log.js";
import * as z from "../zod.js";
import { StorePayloadSchema } from "./payloads.js";
import type { JobRecords } from "./records.js";
import type { JobService } from "./service.js";

export type StoreRecovery = "done" | "skipped" | "failed" | "pending" | "ignored";

/** The parts of FC's destination record this reads: the failed request's payload and what the function answered. */
export interface FailedInvocation {
  readonly requestContext: { readonly functionArn?: string; readonly approximateInvokeCount?: number };
  readonly requestPayload?: string;
  readonly responsePayload?: string;
}

export async function recoverFailedStore(
  record: FailedInvocation,
  deps: {
    jobs: JobRecords;
    service: JobService;
    storeOutputs: (jobId: string) => Promise<"done" | "skipped">;
    log: Logger;
  },
): Promise<StoreRecovery> {
  if (!record.requestContext.functionArn?.endsWith("/store")) return "ignored";
  const payload = z.safeParse(StorePayloadSchema, safeJson(record.requestPayload));
  if (!payload.success) return "ignored";
  const { jobId } = payload.data;
  const attempts = record.requestContext.approximateInvokeCount ?? 0;
  const earlier = String(
    (safeJson(record.responsePayload) as { errorMessage?: unknown } | undefined)?.errorMessage ?? "",
  );
  deps.log.warn("store's retries were spent; reconcile tries once more", { jobId, attempts, error: earlier });
  try {
    return await deps.storeOutputs(jobId);
  } catch (error) {
    const retryable = (error as { retryable?: unknown }).retryable === true;
    if (retryable) {
      deps.log.warn("store failed again; the job stays pending for reconcile's next run", { jobId, error });
      return "pending";
    }
    const job = await deps.jobs.get(jobId);
    if (!job || job.state === "done" || job.state === "failed") return "skipped";
    await deps.service.fail(
      job,
      codeOf(error),
      `storing the audio failed after ${attempts + 1} attempts: ${reasonOf(error)}${earlier ? ` (earlier: ${earlier})` : ""}`,
    );
    return "failed";
  }
}

function safeJson(text: string | undefined): unknown {
  try {
    return text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}
