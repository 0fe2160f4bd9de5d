/** The store function: `{jobId}` from an async invocation; a transient failure throws, so FC retries it. */
import { StoreEventSchema, unwrap } from "../../lib/fc/events.js";
import type { JobRuntime } from "../../lib/jobs/runtime.js";

export function createStoreHandler(rt: () => JobRuntime): (event: unknown) => Promise<{ jobId: string; result: string }> {
  return async (event) => {
    const { jobId } = unwrap(event, StoreEventSchema);
    return { jobId, result: await rt().store(jobId) };
  };
}
