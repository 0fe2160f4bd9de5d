/** The reconcile function: on each timer tick, drive every overdue pending job. */
import { TimerEventSchema, unwrap } from "../../lib/fc/events.js";
import type { JobRuntime } from "../../lib/jobs/runtime.js";

export function createReconcileHandler(rt: () => JobRuntime): (event: unknown) => Promise<Record<string, number>> {
  return async (event) => {
    unwrap(event, TimerEventSchema);
    const counts = await rt().service.reconcile();
    rt().log.info("reconciled", counts);
    return counts;
  };
}
