/** The asynchronous payloads the job machine sends its own functions (through FC's queue). */
import * as z from "../zod.js";

/** What `callback`, `reconcile` and a split job's assembly send to `store`: the job whose audio to store. */
export const StorePayloadSchema = z.strictObject({ jobId: z.string().check(z.minLength(1)) });
