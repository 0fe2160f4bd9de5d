/**
 * The reconcile function: on each timer tick, and whenever store exhausts its async retries (its onFailure
 * destination), drive every overdue pending job.
 */
import { AsyncDestinationEventSchema, TimerEventSchema, unwrap } from "../../lib/fc/events.js";
import type { JobRuntime } from "../../lib/runtime.js";
import * as z from "../../lib/zod.js";

export function createReconcileHandler(rt: () => JobRuntime): (event: unknown) => Promise<Record<string, number>> {
  return async (event) => {
    unwrap(event, z.union([TimerEventSchema, AsyncDestinationEventSchema]));
    const counts = { ...(await rt().service.reconcile()), ...(await rt().batches.reconcile()) };
    rt().log.info("reconciled", counts);
    return counts;
  };
}

/** Timer ticks, and store's onFailure destination (an async invocation, so no trigger). */
export const EVENTS = {
  triggers: ["timer"] as const,
  schema: z.union([TimerEventSchema, AsyncDestinationEventSchema]),
};
