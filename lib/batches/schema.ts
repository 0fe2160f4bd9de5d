/**
 * Batch narration (EventBridge): one CloudEvent carries many items; each item becomes a job, and a manifest in OSS
 * records which.
 */
import { JobOptionFieldsSchema, SpeechSourceFields } from "../jobs/schema.js";
import * as z from "../zod.js";

const OptionOverrides = z.partial(JobOptionFieldsSchema);

/**
 * Where the completion webhook goes: http(s) only. Its address is checked by the batch service (public unicast only,
 * lib/net/public-address.ts): whoever writes an event must not make the function talk to its host's services.
 */
const WebhookUrlSchema = z.string().check(
  z.url(),
  z.refine((u) => /^https?:$/.test(new URL(u).protocol), "must be an http or https URL"),
);

export const BATCH_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** A batch or item id that can be a key segment: BATCH_ID's characters, and not `.` or `..`, which paths drop. */
export function isBatchKey(id: string): boolean {
  return BATCH_ID.test(id) && id !== "." && id !== "..";
}
/** A batch id or an item id: one OSS key segment. */
const BatchKeySchema = z.string().check(
  z.regex(BATCH_ID, "1-64 letters, digits, '.', '_' or '-'"),
  z.refine((id) => id !== "." && id !== "..", "must not be '.' or '..' (a key segment HTTP clients remove)"),
);

/** The most items one batch takes, inline or by reference. */
export const MAX_BATCH_ITEMS = 10_000;

export const BatchItemSchema = z
  .strictObject({
    id: BatchKeySchema,
    ...SpeechSourceFields,
    // Checked per item (with the defaults), so one item's bad option fails that item, not the batch.
    overrides: z.optional(z.record(z.string(), z.unknown())),
  })
  .check(
    z.refine((i) => [i.text, i.ssml, i.input].filter((v) => v !== undefined).length <= 1, {
      message: "takes one of text, ssml or input, not several",
    }),
  );
export type BatchItem = z.infer<typeof BatchItemSchema>;

const ItemsSchema = z.array(BatchItemSchema).check(
  z.minLength(1),
  z.maxLength(MAX_BATCH_ITEMS),
  z.refine((items) => new Set(items.map((i) => i.id)).size === items.length, { message: "item ids must be unique" }),
);

/** What a batch is besides its items: the same whether the items come inline, by reference or by upload. */
export const BatchHeaderFields = {
  batchId: z.optional(BatchKeySchema),
  defaults: z._default(OptionOverrides, {}),
  outputPrefix: z.string().check(z.regex(/^[^/].*\/$/, "an OSS prefix ending in '/'")),
  notify: z.optional(z.strictObject({ url: WebhookUrlSchema })),
};

/**
 * A batch event's data: its items inline, or by reference (`itemsFrom.key`, a JSON Lines object under the input
 * prefix, one item a line), because an async invocation carries at most 128 KB and PutEvents at most 256 KB.
 * @example {"batchId":"book-7","defaults":{"voice":"siqi","format":"mp3"},"items":[{"id":"ch1","text":"…"},{"id":"ch2","input":{"key":"input/book/ch2.txt"}}],"outputPrefix":"output/book-7/","notify":{"url":"https://example.com/hooks/tts"}}
 * @example {"batchId":"news-9","itemsFrom":{"key":"input/batches/news-9.jsonl"},"outputPrefix":"output/news-9/"}
 */
export const BatchRequestSchema = z
  .strictObject({
    ...BatchHeaderFields,
    items: z.optional(ItemsSchema),
    itemsFrom: z.optional(z.strictObject({ key: z.string().check(z.minLength(1)) })),
  })
  .check(
    z.refine((b) => (b.items === undefined) !== (b.itemsFrom === undefined), {
      message: "needs items or itemsFrom (a JSON Lines object of items), one of them",
      path: ["items"],
    }),
  );
export type BatchRequest = z.infer<typeof BatchRequestSchema>;

/** The first line of an uploaded batch file: the batch's header, under `batch`. */
export const BatchFileHeaderSchema = z.strictObject({ batch: z.strictObject(BatchHeaderFields) });

export { ItemsSchema as BatchItemsSchema };

export const ManifestItemSchema = z.object({
  id: z.string(),
  jobId: z.optional(z.string()),
  state: z.string(),
  output: z.optional(z.string()),
  failure: z.optional(z.object({ code: z.string(), reason: z.string() })),
});

/** The manifest (`<jobs prefix>batches/<id>.json`): items and their jobs; final once every item has ended. */
export const ManifestSchema = z.object({
  batchId: z.string(),
  eventId: z.string(),
  createdAt: z.string(),
  state: z.enum(["running", "done", "partial", "cancelled"]),
  finishedAt: z.optional(z.string()),
  /** The completion webhook, and once it was sent, what it answered (`status`) or why it failed (`error`). */
  notify: z.optional(
    z.object({
      url: z.string(),
      at: z.optional(z.string()),
      status: z.optional(z.int()),
      error: z.optional(z.string()),
    }),
  ),
  concurrency: z.int(),
  items: z.array(ManifestItemSchema),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/**
 * An event that could not become a batch (`<jobs prefix>batches/rejected/<id>.json`): what was wrong, so the sender
 * can see it with GET /v1/batches/{id} instead of the event vanishing. Kept apart from manifests, so a corrected event
 * with the same batch id still starts.
 */
export const RejectionSchema = z.object({
  batchId: z.string(),
  eventId: z.optional(z.string()),
  state: z.literal("rejected"),
  rejectedAt: z.string(),
  error: z.object({ code: z.string(), field: z.string(), message: z.string() }),
});
export type Rejection = z.infer<typeof RejectionSchema>;
