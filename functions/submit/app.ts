/**
 * The submit function's OSS-trigger handling: each uploaded `.txt`/`.ssml` under the input prefix becomes a job,
 * once per bucket + key + ETag. The input object is only read, never changed.
 */
import { z } from "zod";
import { CloudEventSchema } from "../../lib/batches/schema.js";
import { OssEventSchema, unwrap } from "../../lib/fc/events.js";
import { jobFromObject } from "../../lib/jobs/intake.js";
import type { JobRuntime } from "../../lib/jobs/runtime.js";

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

/** A batch item handed a slot: submit its job (through FC's queue, so FC retries it). */
const SubmitJobEventSchema = z.object({ submitJob: z.string().min(1) }).strict();
const SubmitEventSchema = z.union([OssEventSchema, CloudEventSchema, SubmitJobEventSchema]);

export function createSubmitHandler(rt: () => JobRuntime): (event: unknown) => Promise<unknown> {
  return async (event) => {
    const parsed = unwrap(event, SubmitEventSchema);
    if ("submitJob" in parsed) {
      const job = await rt().jobs.get(parsed.submitJob);
      return job ? { jobId: job.id, state: (await rt().service.submit(job)).state } : { jobId: parsed.submitJob, state: "missing" };
    }
    if ("specversion" in parsed) {
      const manifest = await rt().batches.start(parsed);
      return { batchId: manifest.batchId, items: manifest.items.length };
    }
    const { events } = parsed;
    const { config, clients, service } = rt();
    const results = [];
    for (const e of events) {
      const key = await resolveKey(e.oss.object.key, clients.storage);
      if (e.oss.bucket.name !== clients.storage.bucket || !key.startsWith(config.OSS_INPUT_PREFIX) || !/\.(txt|ssml)$/.test(key)) {
        results.push({ key, state: "ignored" });
        continue;
      }
      const etag = e.oss.object.eTag ?? (await clients.storage.head(key))?.etag ?? "";
      const job = await jobFromObject(key, etag.replace(/"/g, ""), { storage: clients.storage, service, inputPrefix: config.OSS_INPUT_PREFIX, outputPrefix: config.OSS_OUTPUT_PREFIX, defaultProvider: config.JOBS_DEFAULT_PROVIDER });
      results.push({ key, jobId: job.id, state: job.state });
    }
    return results;
  };
}

/** What this function is triggered by in s.yaml, and the schema its entry parses those events with (checked by the wiring test). */
export const EVENTS = { triggers: ["oss", "eventbridge"] as const, schema: SubmitEventSchema };
