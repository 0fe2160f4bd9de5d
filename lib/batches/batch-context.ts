/**
 * What the batch machine's roles share: their dependencies, the item specs written at the start, and a warm
 * instance's caches of what never changes while a batch runs (its manifest and item index, its specs).
 */
import { createHash } from "node:crypto";
import type { Invoker } from "../invoke.js";
import type { JobRecords } from "../jobs/records.js";
import { JobOptionFieldsSchema } from "../jobs/schema.js";
import type { JobService } from "../jobs/service.js";
import type { Logger } from "../log.js";
import { type ProviderName, ProviderNameSchema } from "../provider-registry.js";
import type { Bucket } from "../storage/bucket.js";
import * as z from "../zod.js";
import { BatchMarkers } from "./batch-markers.js";
import { isBatchKey, type Manifest } from "./schema.js";
import { WarmCache } from "./warm-cache.js";
import { BatchWebhooks } from "./webhook.js";

export interface BatchDeps {
  readonly jobs: JobRecords;
  readonly service: JobService;
  readonly storage: Bucket;
  readonly invoker: Invoker;
  readonly log: Logger;
  readonly jobsPrefix: string;
  readonly outputPrefix: string;
  readonly inputPrefix: string;
  readonly defaultProvider: ProviderName;
  /** Items of one batch in flight at once. */
  readonly concurrency: number;
  /** HMAC key for the completion webhook. */
  readonly secret: string;
  /** Addresses webhooks may reach; public unicast only by default (WEBHOOK_ALLOW_PRIVATE widens it, for local use). */
  readonly webhookAddresses?: (address: string) => boolean;
  /** How long a batch may sit before `reconcile` re-drives its dispatch or finish. */
  readonly staleAfterMs?: number;
  readonly now?: () => Date;
  /** Items per group of ended markers (100; the simulation uses small groups, to see many). */
  readonly endedGroupSize?: number;
  /** Where webhooks go; the simulation records them instead of sending them. */
  readonly webhooks?: Pick<BatchWebhooks, "check" | "send">;
}

/** What a dispatched item becomes: everything its job needs, checked at the start. Null for an item refused then. */
export const ItemSpecSchema = z.nullable(
  z.object({
    text: z.optional(z.string()),
    ssml: z.optional(z.string()),
    input: z.optional(z.object({ key: z.string() })),
    provider: ProviderNameSchema,
    options: z.required(JobOptionFieldsSchema, { subtitles: true }),
    audioKey: z.string(),
  }),
);
export type ItemSpec = z.infer<typeof ItemSpecSchema>;
const ItemSpecsSchema = z.object({ eventId: z.string(), items: z.array(ItemSpecSchema) });

/** A running batch as a warm instance keeps it: its manifest, its items by id, and the order they are dispatched in. */
export interface Running {
  readonly manifest: Manifest;
  readonly index: Map<string, number>;
  /** The indices of the items not refused at the start, in order: the dispatch order. */
  readonly waiting: readonly number[];
}

/** A job id for a batch item, the same for every delivery and every instance: the manifest can name it up front. */
export function itemJobId(batchId: string, itemId: string): string {
  return createHash("sha256").update(`tts-batch-item\n${batchId}\n${itemId}`).digest("hex").slice(0, 32);
}

/**
 * A batch without an id of its own takes its event's id, so a re-delivery finds it and its sender can look it up by the
 * id PutEvents returned (EventBridge's are UUIDs). An id that could not be a batch id (over 64 characters, or with a
 * `/` or `:`) is named by a digest of it instead.
 */
export function batchIdOf(eventId: string): string {
  return isBatchKey(eventId) ? eventId : createHash("sha256").update(eventId).digest("hex").slice(0, 32);
}

export class BatchContext {
  readonly store: BatchMarkers;
  readonly webhooks: Pick<BatchWebhooks, "check" | "send">;
  readonly #running = new WarmCache<Running>(16);
  readonly #specs = new WarmCache<ItemSpec[]>(4);

  constructor(readonly deps: BatchDeps) {
    this.store = new BatchMarkers(deps.storage, deps.jobs, deps.jobsPrefix, deps.endedGroupSize);
    this.webhooks =
      deps.webhooks ??
      new BatchWebhooks({ secret: deps.secret, log: deps.log, allow: deps.webhookAddresses, now: deps.now });
  }

  now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /** A running manifest never changes until it is made final, so a warm instance keeps it (and its item index). */
  running(batchId: string): Promise<Running | undefined> {
    return this.#running.get(batchId, async () => {
      const manifest = await this.store.manifest(batchId);
      if (manifest?.state !== "running") return undefined;
      return {
        manifest,
        index: new Map(manifest.items.map((item, i) => [item.id, i])),
        waiting: manifest.items.flatMap((item, i) => (item.state === "queued" ? [i] : [])),
      };
    });
  }

  /** The item specs of a running batch (kept by a warm instance: they never change). */
  async itemSpecs(manifest: Manifest): Promise<ItemSpec[]> {
    const specs = await this.#specs.get(manifest.batchId, async () => {
      const stored = await this.store.specs(manifest.batchId, manifest.eventId);
      return stored === undefined ? undefined : ItemSpecsSchema.parse(stored).items;
    });
    if (!specs) throw new Error(`batch ${manifest.batchId} has no item specs`);
    return specs;
  }

  /** A batch made final: what this instance kept of it while it ran is let go. */
  forget(batchId: string): void {
    this.#running.delete(batchId);
    this.#specs.delete(batchId);
  }
}
