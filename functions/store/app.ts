/** The store function: `{jobId}` from an async invocation; a transient failure throws, so FC retries it. */

import type { JobRuntime } from "../../lib/runtime.js";
import { StoreEventSchema, unwrap } from "../_fc/events.js";

export function createStoreHandler(
  rt: () => JobRuntime,
): (event: unknown) => Promise<{ jobId: string; result: string }> {
  return async (event) => {
    const { jobId } = unwrap(event, StoreEventSchema);
    return { jobId, result: await rt().storeOutputs(jobId) };
  };
}

/** What this function is triggered by in s.yaml, and the schema its entry parses those events with (checked by the wiring test). */
export const EVENTS = { triggers: [] as const, schema: StoreEventSchema };
