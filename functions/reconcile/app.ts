/**
 * The reconcile function: on each timer tick, and whenever store exhausts its async retries (its onFailure
 * destination), drive every overdue pending job.
 */

import { recoverFailedStore } from "../../lib/jobs/store-failure.js";
import type { JobRuntime } from "../../lib/runtime.js";
import * as z from "../../lib/zod.js";
import { AsyncDestinationEventSchema, TimerEventSchema, unwrap } from "../_fc/events.js";

export function createReconcileHandler(rt: () => JobRuntime): (event: unknown) => Promise<Record<string, number>> {
  return async (event) => {
    const parsed = unwrap(event, z.union([TimerEventSchema, AsyncDestinationEventSchema]));
    // Store's retries spent: that job is tried once more now, before the usual round.
    const recovered =
      "requestContext" in parsed ? { storeRecovered: await recoverFailedStore(parsed, rt()) } : undefined;
    const reclaimed = await rt().budget.reclaim();
    const counts = {
      ...(await rt().service.reconcile()),
      ...(await rt().batches.reconcile()),
      budgetLeasesReclaimed: reclaimed.leases,
      budgetWaitersReclaimed: reclaimed.waiters,
      budgetTicketsDeleted: reclaimed.tickets,
    };
    if (recovered) rt().log.info("store's failure handled", { result: recovered.storeRecovered });
    rt().log.info("reconciled", counts);
    return counts;
  };
}

/** Timer ticks, and store's onFailure destination (an async invocation, so no trigger). */
export const EVENTS = {
  triggers: ["timer"] as const,
  schema: z.union([TimerEventSchema, AsyncDestinationEventSchema]),
};
