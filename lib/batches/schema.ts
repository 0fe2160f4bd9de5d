/**
 * Batch narration (EventBridge): one CloudEvent carries many items; each item becomes a job, and a manifest in OSS
 * records which.
 */
import { z } from "zod";
import { JobOptionFieldsSchema } from "../jobs/schema.js";

const OptionOverrides = JobOptionFieldsSchema.partial();

/**
 * @example {"batchId":"book-7","defaults":{"voice":"siqi","format":"mp3"},"items":[{"id":"ch1","text":"…"},{"id":"ch2","input":{"key":"input/book/ch2.txt"}}],"outputPrefix":"output/book-7/","notify":{"url":"https://example.com/hooks/tts"}}
 */
export const BatchRequestSchema = z
  .object({
    batchId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "1-64 letters, digits, '.', '_' or '-'").optional(),
    defaults: OptionOverrides.default({}),
    items: z
      .array(
        z
          .object({
            id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "1-64 letters, digits, '.', '_' or '-'"),
            text: z.string().optional(),
            ssml: z.string().optional(),
            input: z.object({ key: z.string().min(1) }).strict().optional(),
            output: z.object({ key: z.string().min(1) }).strict().optional(),
            overrides: OptionOverrides.optional(),
          })
          .strict(),
      )
      .min(1)
      .max(10_000),
    outputPrefix: z.string().regex(/^[^/].*\/$/, "an OSS prefix ending in '/'"),
    notify: z.object({ url: z.string().url() }).strict().optional(),
  })
  .strict()
  .refine((b) => new Set(b.items.map((i) => i.id)).size === b.items.length, { message: "item ids must be unique", path: ["items"] });
export type BatchRequest = z.infer<typeof BatchRequestSchema>;

/** A CloudEvents 1.0 envelope as EventBridge delivers it (facts §3.3). */
export const CloudEventSchema = z.object({
  id: z.string().min(1),
  source: z.string().min(1),
  specversion: z.literal("1.0"),
  type: z.string().min(1),
  time: z.string().optional(),
  datacontenttype: z.string().optional(),
  data: z.unknown(),
});

export const ManifestItemSchema = z.object({ id: z.string(), jobId: z.string().optional(), state: z.string(), output: z.string().optional(), failure: z.object({ code: z.string(), reason: z.string() }).optional() });

/** The manifest (`<jobs prefix>batches/<id>.json`): items and their jobs; final once every item has ended. */
export const ManifestSchema = z.object({
  batchId: z.string(),
  eventId: z.string(),
  createdAt: z.string(),
  state: z.enum(["running", "done", "partial"]),
  finishedAt: z.string().optional(),
  notify: z.object({ url: z.string() }).optional(),
  concurrency: z.number().int(),
  items: z.array(ManifestItemSchema),
});
export type Manifest = z.infer<typeof ManifestSchema>;
