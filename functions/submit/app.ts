/**
 * The submit function's OSS-trigger handling: each uploaded `.txt`/`.ssml` under the input prefix becomes a job (once
 * per bucket + key + ETag + options), each `<name>.json` makes the text beside it again with its options, and each
 * `.batch.jsonl` starts a batch. The input object is only read, never changed.
 */
import { InputError } from "../../lib/errors.js";
import { applyOptionsFile, jobFromObject } from "../../lib/jobs/upload-intake.js";
import { quoteContextOf, quoteRequest } from "../../lib/quotes/quote-request.js";
import { intakeOf, type JobRuntime } from "../../lib/runtime.js";
import { isRecord } from "../../lib/validation.js";
import * as z from "../../lib/zod.js";
import {
  batchEventOf,
  CloudEventSchema,
  decodeEvent,
  OssEventSchema,
  rejectedBatchEvent,
  unwrap,
} from "../_fc/events.js";

/**
 * facts §3.1 [U]: the event's key may arrive URL-encoded. A key may also really contain "%41", so the key as given
 * wins when it exists, and the decoded one is tried only when it does not.
 */
async function resolveKey(raw: string, storage: { head(key: string): Promise<unknown> }): Promise<string> {
  if (!/%[0-9A-Fa-f]{2}/.test(raw) || (await storage.head(raw))) return raw;
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw.replace(/\+/g, " "));
  } catch {
    return raw;
  }
  return (await storage.head(decoded)) ? decoded : raw;
}

/**
 * A job of a synchronous provider to submit (through FC's queue, so FC retries it); `resume`: its elected submitter
 * waited its time in line for the account's budget and handed its turn on.
 */
const SubmitJobEventSchema = z.strictObject({
  submitJob: z.string().check(z.minLength(1)),
  resume: z.optional(z.literal(true)),
});
/** A batch item handed a slot: make its job and submit it. */
const BatchItemEventSchema = z.strictObject({
  batchItem: z.strictObject({
    batchId: z.string().check(z.minLength(1), z.maxLength(128)),
    index: z.int().check(z.gte(0), z.lte(9_999)),
  }),
});
const SubmitEventSchema = z.union([OssEventSchema, CloudEventSchema, SubmitJobEventSchema, BatchItemEventSchema]);

export function createSubmitHandler(rt: () => JobRuntime): (event: unknown) => Promise<unknown> {
  // A malformed event is the same on every delivery: answer it (logged with the field) rather than throw for FC to retry.
  const one = async (event: unknown): Promise<unknown> => {
    try {
      return await dispatch(event);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      rt().log.error("event rejected", { field: error.field, reason: error.message });
      return { state: "rejected", error: { code: error.code, field: error.field, message: error.message } };
    }
  };

  const dispatch = async (event: unknown): Promise<unknown> => {
    // Dispatch on shape, so a malformed event is reported against the schema it meant to follow, not a union.
    if (isRecord(event) && "events" in event) return ossEvents(unwrap(event, OssEventSchema));
    if (isRecord(event) && "submitJob" in event) {
      const { submitJob, resume } = unwrap(event, SubmitJobEventSchema);
      const job = await rt().jobs.get(submitJob);
      return job
        ? { jobId: job.id, state: (await rt().service.submit(job, resume ? { resume } : {})).state }
        : { jobId: submitJob, state: "missing" };
    }
    if (isRecord(event) && "batchItem" in event) {
      const { batchItem } = unwrap(event, BatchItemEventSchema);
      return rt().batches.runItem(batchItem.batchId, batchItem.index);
    }
    try {
      const batch = batchEventOf(event);
      // `dryRun: true`: the batch's quote, told to its webhook; nothing is made.
      if (isRecord(batch.data) && batch.data.dryRun === true) {
        const quote = await quoteRequest(batch.data, "", quoteContextOf(rt().config, intakeOf(rt())));
        return await rt().batches.quoted(batch, quote);
      }
      const manifest = await rt().batches.start(batch);
      return { batchId: manifest.batchId, items: manifest.items.length };
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      return rt().batches.reject(rejectedBatchEvent(event), error);
    }
  };

  const ossEvents = async ({ events }: z.infer<typeof OssEventSchema>): Promise<unknown> => {
    const { config, clients } = rt();
    const intake = intakeOf(rt());
    const results = [];
    for (const e of events) {
      const key = await resolveKey(e.oss.object.key, clients.storage);
      if (
        e.oss.bucket.name !== clients.storage.bucket ||
        !key.startsWith(config.OSS_INPUT_PREFIX) ||
        !/\.(txt|ssml|md|epub|batch\.jsonl|json)$/.test(key)
      ) {
        results.push({ key, state: "ignored" });
        continue;
      }
      if (key.endsWith(".json")) {
        // An options file: the text beside it is made again with these options, or waits for its text.
        for (const outcome of await applyOptionsFile(key, intake)) {
          rt().log.info(
            outcome.state === "waiting"
              ? "options file waits for its text"
              : outcome.created
                ? "options file applied: its text is made again with these options"
                : "options file already applied to its text",
            { key, ...outcome },
          );
          results.push({ key, ...outcome });
        }
        continue;
      }
      const etag = e.oss.object.eTag ?? (await clients.storage.head(key))?.etag ?? "";
      if (key.endsWith(".batch.jsonl")) {
        results.push(await batchFile(key, etag.replace(/"/g, "")));
        continue;
      }
      const { job } = await jobFromObject(key, etag.replace(/"/g, ""), intake);
      results.push({ key, jobId: job.id, state: job.state });
    }
    return results;
  };

  /** An uploaded batch file: its batch starts, or its refusal is recorded under the batch id it would have had. */
  const batchFile = async (key: string, etag: string): Promise<unknown> => {
    try {
      const manifest = await rt().batches.startFromUpload(key, etag);
      return { key, batchId: manifest.batchId, items: manifest.items.length };
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      return { key, ...(await rt().batches.rejectUpload(key, etag, error)) };
    }
  };

  return async (raw) => {
    const event = decodeEvent(raw);
    // EventBridge in batching mode delivers a JSON array of serialized CloudEvents (facts §3.3): each is its own batch.
    if (Array.isArray(event)) {
      const results = [];
      for (const e of event) results.push(await one(decodeEvent(e)));
      return results;
    }
    return one(event);
  };
}

/** What this function is triggered by in s.yaml, and the schema its entry parses those events with (checked by the wiring test). */
export const EVENTS = { triggers: ["oss"] as const, schema: SubmitEventSchema };
