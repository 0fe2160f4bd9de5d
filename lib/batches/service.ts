/**
 * EventBridge batches: one event, many items, one manifest. Starting a batch costs a few writes whatever its size:
 * every item is checked in memory (options, keys, inline text by its provider's rules), the item specs and the manifest
 * are written once, and only the first `concurrency` items are dispatched. An item's job is created when the item is
 * handed a slot (its id is derived from the batch and item ids, so the manifest names it from the start), through
 * FC's async invocation (its queue and retries). When an item's synthesis ends (or its job ends without one), the item
 * hands its slot to the next one: the bound is on provider tasks, and the audio is copied while the next item
 * synthesizes. When the last item ends, the manifest is made final (once) and one signed completion webhook is sent.
 *
 * Nothing here reads every item's job: progress is kept in per-item markers (`dispatch-<i>` elections, `ended/<i>.<state>`)
 * that a listing counts, a thousand at a time, so starting and reporting a 10,000-item batch stays within its
 * functions' timeouts. A re-delivered event finds its manifest and starts nothing; `reconcile` re-drives a batch whose
 * dispatch or finish was lost (a `batch-pending/` marker lists the batches not yet final).
 */
import { createHash } from "node:crypto";
import { InputError } from "../errors.js";
import { CloudEventSchema, cloudEventData } from "../fc/events.js";
import type { Invoker } from "../invoke.js";
import { checkInputKey, checkOutputKey, readInputText } from "../jobs/intake.js";
import { type ProviderName, ProviderNameSchema } from "../jobs/provider-name.js";
import type { JobRecords } from "../jobs/records.js";
import { type Job, JobOptionFieldsSchema, JobOptionsSchema } from "../jobs/schema.js";
import type { JobService } from "../jobs/service.js";
import type { Logger } from "../log.js";
import type { ObjectStore } from "../storage/object-store.js";
import { isRecord, parseInput } from "../validation.js";
import * as z from "../zod.js";
import { readItemsFile } from "./items-file.js";
import {
  BatchHeaderFields,
  type BatchItem,
  BatchRequestSchema,
  isBatchKey,
  type Manifest,
  type Rejection,
} from "./schema.js";

/** A batch's header fields once checked: all but its items. */
type BatchHeader = { defaults: Record<string, unknown>; outputPrefix: string; notify?: { url: string } };

import { BatchStore } from "./store.js";
import { WarmCache } from "./warm-cache.js";
import { BatchWebhooks } from "./webhook.js";

export interface BatchDeps {
  readonly jobs: JobRecords;
  readonly service: JobService;
  readonly storage: ObjectStore;
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
  /** Where webhooks go; the simulation records them instead of sending them. */
  readonly webhooks?: Pick<BatchWebhooks, "check" | "send">;
}

/** What a dispatched item becomes: everything its job needs, checked at the start. Null for an item refused then. */
const ItemSpecSchema = z.nullable(
  z.object({
    text: z.optional(z.string()),
    ssml: z.optional(z.string()),
    input: z.optional(z.object({ key: z.string() })),
    provider: ProviderNameSchema,
    options: z.required(JobOptionFieldsSchema, { subtitles: true }),
    audioKey: z.string(),
  }),
);
type ItemSpec = z.infer<typeof ItemSpecSchema>;
const ItemSpecsSchema = z.object({ eventId: z.string(), items: z.array(ItemSpecSchema) });

/** A job id for a batch item, the same for every delivery and every instance: the manifest can name it up front. */
export function itemJobId(batchId: string, itemId: string): string {
  return createHash("sha256").update(`tts-batch-item\n${batchId}\n${itemId}`).digest("hex").slice(0, 32);
}

/** Parallel reads of job records when a batch needs some (the failed items' reasons). */
const READ_PARALLELISM = 16;

interface Running {
  readonly manifest: Manifest;
  readonly index: Map<string, number>;
  /** The indices of the items not refused at the start, in order: the dispatch order. */
  readonly waiting: readonly number[];
}

export class BatchService {
  readonly #cache = new WarmCache<Running>(16);
  readonly #specs = new WarmCache<ItemSpec[]>(4);

  readonly #store: BatchStore;
  readonly #webhooks: Pick<BatchWebhooks, "check" | "send">;

  constructor(private readonly deps: BatchDeps) {
    this.#store = new BatchStore(deps.storage, deps.jobs, deps.jobsPrefix);
    this.#webhooks =
      deps.webhooks ??
      new BatchWebhooks({
        secret: deps.secret,
        log: deps.log,
        allow: deps.webhookAddresses,
        now: deps.now,
      });
  }

  #now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  manifest(batchId: string): Promise<Manifest | undefined> {
    return this.#store.manifest(batchId);
  }

  /**
   * Starts the batch a CloudEvent carries, once per batch id (the event's id unless the data names one). Its items come
   * inline or from the JSON Lines object `itemsFrom.key` names.
   */
  async start(event: unknown): Promise<Manifest> {
    const envelope = parseInput(CloudEventSchema, event, "event");
    const req = parseInput(BatchRequestSchema, cloudEventData(envelope), "data");
    checkOutputKey(req.outputPrefix, this.deps.outputPrefix, "data.outputPrefix");
    if (req.notify) this.#webhooks.check(req.notify.url);
    const batchId = req.batchId ?? batchIdOf(envelope.id);
    const existing = await this.manifest(batchId);
    if (existing) return existing;
    const items =
      req.items ??
      (
        await readItemsFile(this.deps.storage, req.itemsFrom!.key, {
          inputPrefix: this.deps.inputPrefix,
          field: "data.itemsFrom.key",
        })
      ).items;
    return this.#begin(batchId, envelope.id, { ...req, items });
  }

  /**
   * Starts the batch an uploaded batch file holds (`.batch.jsonl` under the input prefix: a header line, then one item
   * a line), once per object version: its batch id is the header's, else made from the key and ETag.
   */
  async startFromUpload(key: string, etag: string): Promise<Manifest> {
    const { header, items } = await readItemsFile(this.deps.storage, key, {
      inputPrefix: this.deps.inputPrefix,
      field: key,
      header: true,
    });
    checkOutputKey(header!.outputPrefix, this.deps.outputPrefix, `${key} line 1.batch.outputPrefix`);
    if (header!.notify) this.#webhooks.check(header!.notify.url);
    const eventId = `oss:${key}:${etag}`;
    const batchId = header!.batchId ?? batchIdOf(eventId);
    return (await this.manifest(batchId)) ?? this.#begin(batchId, eventId, { ...header!, items });
  }

  async #begin(
    batchId: string,
    eventId: string,
    req: BatchHeader & { items: readonly BatchItem[] },
  ): Promise<Manifest> {
    const items: Manifest["items"] = [];
    const specs: ItemSpec[] = [];
    const claimed = new Map<string, string>();
    for (const item of req.items) {
      const jobId = itemJobId(batchId, item.id);
      try {
        const options = parseInput(
          JobOptionsSchema,
          { ...req.defaults, ...item.overrides },
          `items[${item.id}].overrides`,
        );
        const provider = (options.provider ?? this.deps.defaultProvider) as ProviderName;
        const audioKey = checkOutputKey(
          item.output?.key ?? `${req.outputPrefix}${item.id}.${options.format}`,
          this.deps.outputPrefix,
          `items[${item.id}].output.key`,
          options.format,
        );
        // Two items writing one object would both end done with one's audio lost: the later one is refused.
        const first = claimed.get(audioKey);
        if (first !== undefined)
          throw new InputError(`items[${item.id}].output.key`, `${audioKey} is item ${first}'s output already`, {
            code: "OutputTaken",
          });
        claimed.set(audioKey, item.id);
        if (item.input) {
          // The object is read when the item is dispatched; a missing or unreadable one fails the item then, with its reason.
          checkInputKey(item.input.key, this.deps.inputPrefix, `items[${item.id}].input.key`);
        } else {
          const text = item.text ?? item.ssml;
          if (text === undefined) throw new InputError(`items[${item.id}]`, "needs one of text, ssml or input");
          this.deps.service.validate({ provider, text, ssml: item.ssml !== undefined, options });
        }
        specs.push({
          ...(item.text !== undefined ? { text: item.text } : {}),
          ...(item.ssml !== undefined ? { ssml: item.ssml } : {}),
          ...(item.input ? { input: item.input } : {}),
          provider,
          options,
          audioKey,
        });
        items.push({ id: item.id, jobId, state: "queued" });
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        // A bad item is reported, never hidden, and never stops the others.
        specs.push(null);
        items.push({ id: item.id, jobId, state: "failed", failure: { code: error.code, reason: error.message } });
      }
    }
    const manifest: Manifest = {
      batchId,
      eventId,
      createdAt: this.#now().toISOString(),
      state: "running",
      concurrency: this.deps.concurrency,
      items,
      ...(req.notify ? { notify: req.notify } : {}),
    };
    // Specs first (keyed by the event, so two events racing for one batch id never mix), then the manifest that names them.
    await this.#store.putSpecs(batchId, eventId, specs);
    await this.#store.markPending(batchId);
    if (!(await this.#store.createManifest(manifest))) return (await this.manifest(batchId))!;
    this.deps.log.info("batch started", {
      batchId,
      items: items.length,
      refused: items.filter((i) => i.state === "failed").length,
    });
    await this.redrive(batchId);
    return manifest;
  }

  /** The item specs of a running batch (kept by a warm instance: they never change). */
  async #itemSpecs(manifest: Manifest): Promise<ItemSpec[]> {
    const specs = await this.#specs.get(manifest.batchId, async () => {
      const stored = await this.#store.specs(manifest.batchId, manifest.eventId);
      return stored === undefined ? undefined : ItemSpecsSchema.parse(stored).items;
    });
    if (!specs) throw new Error(`batch ${manifest.batchId} has no item specs`);
    return specs;
  }

  /**
   * Records why an uploaded batch file could not start its batch, as `reject` does for an event: under the batch id
   * its header names (read leniently: the header itself may be what is wrong), else the one its key and ETag give.
   */
  async rejectUpload(key: string, etag: string, error: InputError): ReturnType<BatchService["reject"]> {
    let header: unknown;
    try {
      const first = ((await this.deps.storage.get(key)) ?? Buffer.alloc(0)).subarray(0, 64 * 1024).toString("utf8");
      header = (JSON.parse(first.split("\n", 1)[0]!) as { batch?: unknown }).batch;
    } catch {
      header = undefined;
    }
    return this.reject({ id: `oss:${key}:${etag}`, data: isRecord(header) ? header : {} }, error);
  }

  /**
   * Records why an event could not start a batch, under the batch id it names (or its event's), and tells its webhook
   * when it names a usable one. An InputError is the same on every delivery, so it is answered, not thrown for FC to retry.
   */
  async reject(
    event: unknown,
    error: InputError,
  ): Promise<Rejection | { state: "rejected"; error: Rejection["error"] }> {
    const envelope = isRecord(event) ? event : {};
    const given = cloudEventData(envelope);
    const data = isRecord(given) ? given : {};
    const eventId = typeof envelope.id === "string" && envelope.id !== "" ? envelope.id.slice(0, 256) : undefined;
    const batchId =
      typeof data.batchId === "string" && isBatchKey(data.batchId)
        ? data.batchId
        : eventId
          ? batchIdOf(eventId)
          : undefined;
    const reason = { code: error.code, field: error.field, message: error.message };
    this.deps.log.error("batch event rejected", { batchId, eventId, field: error.field, reason: error.message });
    if (!batchId) return { state: "rejected", error: reason };
    const rejection: Rejection = {
      batchId,
      ...(eventId ? { eventId } : {}),
      state: "rejected",
      rejectedAt: (this.deps.now?.() ?? new Date()).toISOString(),
      error: reason,
    };
    await this.#store.putRejection(rejection);
    const notify = isRecord(data.notify) ? z.safeParse(BatchHeaderFields.notify, data.notify) : undefined;
    if (notify?.success && notify.data)
      await this.#webhooks.send(notify.data.url, `${batchId}:rejected:${eventId ?? ""}`, {
        type: "tts.batch.rejected",
        batchId,
        state: "rejected",
        error: reason,
        rejectedAt: rejection.rejectedAt,
      });
    return rejection;
  }

  /**
   * Re-drives a batch from its markers: finishes it when every item has ended, else hands free slots to waiting items.
   * Two listings and at most `concurrency` record reads, whatever the batch size. `force` (reconcile, once the batch
   * has sat past the grace period) also re-sends items whose dispatch was lost and finishes a batch whose elected
   * finisher died.
   */
  async redrive(batchId: string, opts: { force?: boolean } = {}): Promise<void> {
    const batch = await this.#running(batchId);
    if (!batch) {
      const final = await this.manifest(batchId);
      if (final?.state === "running") return;
      // Final, but its finisher died before the webhook went out: send it now (the receiver dedupes on X-TTS-Delivery).
      if (final?.notify && !final.notify.at)
        await this.#notify(final, {
          done: final.items.filter((i) => i.state === "done").length,
          failed: final.items.filter((i) => i.state === "failed").length,
        });
      await this.#store.clearPending(batchId);
      return;
    }
    const { manifest } = batch;
    const ended = await this.#store.ended(batchId);
    if (this.#complete(manifest, ended)) return this.#finish(manifest, ended, opts);
    const inFlightOf = (dispatched: Set<number>): number[] => [...dispatched].filter((i) => !ended.has(i));
    const handedOn = opts.force
      ? await this.#recover(manifest, inFlightOf(await this.#store.dispatched(batchId)))
      : new Set<number>();
    // Listed after the records were read: a hand-on comes before its record says "synthesized", so every item those
    // records handed a slot to is in this listing, and counted.
    const dispatched = await this.#store.dispatched(batchId);
    const inFlight = inFlightOf(dispatched);
    // The free slots are filled at once, not one item after another: a batch's first wave starts together (serially,
    // 16 items' elections and invocations staggered the last one's start by half a second). A lost election (another
    // redrive got there first) leaves its slot to the next round. An item whose audio is being stored handed its slot
    // on: a forced redrive, which reads the in-flight records, does not count it, so a hand-on lost to a crash is
    // refilled; an unforced one counts it, erring below the bound, never above it.
    let free = manifest.concurrency - inFlight.filter((i) => !handedOn.has(i)).length;
    let next = 0;
    while (free > 0) {
      const chosen: number[] = [];
      for (; next < manifest.items.length && chosen.length < free; next++)
        if (manifest.items[next]!.state === "queued" && !dispatched.has(next)) chosen.push(next);
      if (chosen.length === 0) return;
      const won = await Promise.all(chosen.map((i) => this.#dispatch(manifest, i)));
      free -= won.filter(Boolean).length;
    }
  }

  /**
   * In-flight items whose job was never made (the dispatch invocation was lost) are sent again; ended jobs the batch
   * missed are counted. Returns the items whose synthesis ended and which are still being stored: they hold no
   * provider task, and their hand-on (done or lost) came before their record said so.
   */
  async #recover(manifest: Manifest, inFlight: number[]): Promise<Set<number>> {
    const handedOn = new Set<number>();
    for (const i of inFlight) {
      const job = await this.deps.jobs.get(manifest.items[i]!.jobId!);
      if (!job) await this.deps.invoker.invokeAsync("submit", { batchItem: { batchId: manifest.batchId, index: i } });
      else if (job.state === "done" || job.state === "failed") await this.itemEnded(job);
      else if (job.synthesizedAt !== undefined) handedOn.add(i);
    }
    return handedOn;
  }

  /** Elects item `index` for a slot (once, whoever races for it) and hands it to `submit` through FC's queue. */
  async #dispatch(manifest: Manifest, index: number): Promise<boolean> {
    if (!(await this.#store.electDispatch(manifest.batchId, index, this.#now()))) return false;
    await this.deps.invoker.invokeAsync("submit", { batchItem: { batchId: manifest.batchId, index } });
    return true;
  }

  /**
   * A dispatched item (the `submit` function's `batchItem` event): creates its job, with the derived id, and submits
   * it. A re-delivery finds the job by its idempotency key (no read first: the first delivery is the common case) and
   * only makes sure it was submitted; an item whose input cannot be read fails with the reason, and hands its slot on.
   */
  async runItem(batchId: string, index: number): Promise<{ jobId?: string; state: string }> {
    const batch = await this.#running(batchId);
    const item = batch?.manifest.items[index];
    if (!batch || !item?.jobId || item.state !== "queued") return { state: "ignored" };
    const spec = (await this.#itemSpecs(batch.manifest))[index];
    if (!spec) return { state: "ignored" };
    const base = {
      id: item.jobId,
      provider: spec.provider,
      batch: { id: batchId, item: item.id },
      idempotencyKey: `batch:${batchId}:${item.id}`,
      options: spec.options,
      audioKey: spec.audioKey,
    };
    try {
      const read = spec.input
        ? await readInputText(this.deps.storage, spec.input.key, `items[${item.id}].input.key`)
        : undefined;
      const source: Job["source"] = spec.input
        ? { kind: "oss", bucket: this.deps.storage.bucket, key: spec.input.key, etag: read!.etag }
        : { kind: "inline" };
      const { job, created } = await this.deps.service.create({
        ...base,
        text: read?.text ?? spec.text ?? spec.ssml!,
        ssml: spec.ssml !== undefined,
        source,
      });
      // A re-delivery whose first delivery made the job but never got it submitted (it crashed, or the provider refused
      // for a moment) submits it now; submission is elected, so a racing first delivery never submits it twice.
      const now = !created && job.state === "queued" ? await this.deps.service.submit(job) : job;
      return { jobId: now.id, state: now.state };
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      const job = await this.deps.service.createFailed({
        ...base,
        source: { kind: "inline" },
        code: error.code,
        reason: error.message,
      });
      return { jobId: job.id, state: job.state };
    }
  }

  /**
   * An item's synthesis ended: its slot goes to the next waiting item now, while its audio is copied, so the provider
   * never waits on a copy. The bound is on provider tasks (what a provider's concurrency limits); an item being stored
   * holds none. Called once per job, by the caller elected to record its synthesis.
   */
  async itemSynthesized(job: Job): Promise<void> {
    const item = await this.#item(job);
    if (item) await this.#dispatchNext(item.batch, item.index);
  }

  /**
   * An item's job ended. A job that ended before its synthesis did (it failed first) hands its slot on now: every
   * item hands on at most one, so the bound holds without counting what is in flight. Then the ended markers are
   * counted (a listing) to see whether the batch is complete, unless another item is certain to end later and count
   * them: the one this end dispatched, or the one whose turn came after this item's (its successor), if it has not
   * ended. The item whose marker is written last always counts: when it writes it, every other item's marker is
   * there, its successor's too. So a batch of any size costs one listing per end at worst and about `concurrency`
   * in all when items end in turn.
   */
  async itemEnded(job: Job): Promise<void> {
    const item = await this.#item(job);
    if (!item) return;
    const { batch, index } = item;
    const { batchId } = batch.manifest;
    const first = await this.#store.markEnded(batchId, index, job.state);
    if (first) {
      if (job.synthesizedAt === undefined) {
        if (await this.#dispatchNext(batch, index)) return;
      } else if (await this.#successorRunning(batch, index)) return;
    }
    const ended = await this.#store.ended(batchId);
    if (this.#complete(batch.manifest, ended)) await this.#finish(batch.manifest, ended);
  }

  /** The running batch a job is an item of, and the item's index in it. */
  async #item(job: Job): Promise<{ batch: Running; index: number } | undefined> {
    // A part of a split item is not the item (records made before parts stopped carrying the batch say otherwise).
    if (!job.batch || job.parent) return undefined;
    const batch = await this.#running(job.batch.id);
    const index = batch?.index.get(job.batch.item);
    return batch && index !== undefined ? { batch, index } : undefined;
  }

  /** Whether the item whose turn came after item `ended`'s exists and has not ended yet. */
  async #successorRunning(batch: Running, ended: number): Promise<boolean> {
    const successor = batch.waiting[this.#successorPosition(batch, ended)];
    return successor !== undefined && !(await this.#store.hasEnded(batch.manifest.batchId, successor));
  }

  /**
   * Where in the waiting order item `index`'s successor stands: `concurrency` places on, as the start dispatches the
   * first `concurrency` waiting items. Past the end when it has none (or is not a waiting item).
   */
  #successorPosition(batch: Running, index: number): number {
    const position = batch.waiting.indexOf(index);
    return position === -1 ? batch.waiting.length : position + batch.manifest.concurrency;
  }

  /**
   * Hands an item's slot on (when its synthesis ended, or when it ended without one). The start dispatches the first
   * `concurrency` waiting items, so the item `concurrency` places after this one (in the order of the waiting items)
   * is the one whose turn it is: every item names its own successor, and items handing on together never race for one
   * (a shared cursor made each of them lose an election per item it was behind: quadratic in the concurrency). A lost
   * election there (a redrive dispatched that item already) falls back to the next waiting item not yet dispatched.
   */
  async #dispatchNext(batch: Running, from: number): Promise<boolean> {
    const { manifest, waiting } = batch;
    for (let p = this.#successorPosition(batch, from); p < waiting.length; p++)
      if (await this.#dispatch(manifest, waiting[p]!)) return true;
    return false;
  }

  /** Complete when every item has ended: those refused at the start, plus one `ended/` marker per other item. */
  #complete(manifest: Manifest, ended: Map<number, string>): boolean {
    return manifest.items.every((item, i) => item.state === "failed" || ended.has(i));
  }

  /** A running manifest never changes until it is made final, so a warm instance keeps it (and its item index). */
  #running(batchId: string): Promise<Running | undefined> {
    return this.#cache.get(batchId, async () => {
      const manifest = await this.manifest(batchId);
      if (manifest?.state !== "running") return undefined;
      return {
        manifest,
        index: new Map(manifest.items.map((item, i) => [item.id, i])),
        waiting: manifest.items.flatMap((item, i) => (item.state === "queued" ? [i] : [])),
      };
    });
  }

  /** Each item as it stands: refused at the start, ended (with the failed ones' reasons), in flight, or waiting. */
  async #items(manifest: Manifest, ended: Map<number, string>, dispatched: Set<number>): Promise<Manifest["items"]> {
    const specs = manifest.items.some((_, i) => ended.get(i) === "done") ? await this.#itemSpecs(manifest) : [];
    const items: Manifest["items"] = manifest.items.map((item, i) => {
      if (item.state === "failed") return item;
      const state = ended.get(i) ?? (dispatched.has(i) ? "running" : "queued");
      return {
        id: item.id,
        jobId: item.jobId,
        state,
        ...(state === "done" && specs[i] ? { output: specs[i]!.audioKey } : {}),
      };
    });
    // Only failed items need their job's record (for the reason), read a few at a time.
    const failed = items.map((item, i) => (item.state === "failed" && !item.failure ? i : -1)).filter((i) => i !== -1);
    for (let k = 0; k < failed.length; k += READ_PARALLELISM) {
      await Promise.all(
        failed.slice(k, k + READ_PARALLELISM).map(async (i) => {
          const failure = (await this.deps.jobs.get(items[i]!.jobId!))?.failure;
          items[i] = {
            ...items[i]!,
            failure: { code: failure?.code ?? "Failed", reason: failure?.reason ?? "the item's job failed" },
          };
        }),
      );
    }
    return items;
  }

  async #finish(manifest: Manifest, ended: Map<number, string>, opts: { force?: boolean } = {}): Promise<void> {
    if (!(await this.#store.electFinal(manifest.batchId, this.#now())) && !opts.force) return;
    const items = await this.#items(manifest, ended, new Set());
    const final: Manifest = {
      ...manifest,
      state: items.every((i) => i.state === "done") ? "done" : "partial",
      finishedAt: this.#now().toISOString(),
      items,
    };
    await this.#store.putManifest(final);
    this.#cache.delete(manifest.batchId);
    this.#specs.delete(manifest.batchId);
    const counts = {
      done: items.filter((i) => i.state === "done").length,
      failed: items.filter((i) => i.state === "failed").length,
    };
    this.deps.log.info("batch finished", { batchId: manifest.batchId, ...counts });
    if (final.notify) await this.#notify(final, counts);
    await this.#store.clearPending(manifest.batchId);
  }

  /**
   * Re-drives every batch not yet final that has sat past the grace period (a lost dispatch, a finisher that died).
   * Called by the reconcile function beside the jobs' own reconcile.
   */
  async reconcile(): Promise<{ batches: number }> {
    let batches = 0;
    const stale = this.deps.staleAfterMs ?? 2 * 60_000;
    for await (const batchId of this.#store.pending()) {
      try {
        const manifest = await this.manifest(batchId);
        const force = !manifest || this.#now().getTime() - Date.parse(manifest.createdAt) >= stale;
        await this.redrive(batchId, { force });
        batches++;
      } catch (error) {
        this.deps.log.warn("reconcile could not advance a batch; next run retries", { batchId, error });
      }
    }
    return { batches };
  }

  /**
   * One completion webhook, with an id to dedupe on. What became of it is written into the final manifest
   * (`notify.status` or `notify.error`), so `GET /v1/batches/{id}` tells whether the webhook was delivered.
   */
  async #notify(manifest: Manifest, counts: { done: number; failed: number }): Promise<void> {
    const outcome = await this.#webhooks.send(manifest.notify!.url, `${manifest.batchId}:final`, {
      type: "tts.batch.finished",
      batchId: manifest.batchId,
      state: manifest.state,
      counts,
      items: manifest.items,
      finishedAt: manifest.finishedAt,
    });
    const notify = { url: manifest.notify!.url, at: this.#now().toISOString(), ...outcome };
    await this.#store.putManifest({ ...manifest, notify });
  }

  /** The batch as `GET /v1/batches/{id}` shows it: counts and each item's state, from two listings (no per-item reads). */
  async view(batchId: string): Promise<Record<string, unknown> | undefined> {
    const manifest = await this.manifest(batchId);
    if (!manifest) return this.#store.rejection(batchId);
    const items =
      manifest.state === "running"
        ? await this.#items(manifest, await this.#store.ended(batchId), await this.#store.dispatched(batchId))
        : manifest.items;
    const counts: Record<string, number> = {};
    for (const i of items) counts[i.state] = (counts[i.state] ?? 0) + 1;
    return {
      batchId: manifest.batchId,
      state: manifest.state,
      createdAt: manifest.createdAt,
      finishedAt: manifest.finishedAt,
      counts,
      ...(manifest.notify ? { notify: shownNotify(manifest.notify) } : {}),
      items,
    };
  }
}

/**
 * What any reader sees of a batch's webhook: where it went (the origin) and how it answered, never its path or query,
 * which may carry the receiver's secret (issue 26, defect 6: every key read the full URL).
 */
function shownNotify<T extends { url: string }>(notify: T): Omit<T, "url"> & { url: string } {
  const { url, ...rest } = notify;
  let origin = "";
  try {
    origin = new URL(url).origin;
  } catch {
    origin = "";
  }
  return { ...rest, url: `${origin}/…` };
}

/**
 * A batch without an id of its own takes its event's id, so a re-delivery finds it and its sender can look it up by the
 * id PutEvents returned (EventBridge's are UUIDs). An id that could not be a batch id (over 64 characters, or with a
 * `/` or `:`) is named by a digest of it instead.
 */
function batchIdOf(eventId: string): string {
  return isBatchKey(eventId) ? eventId : createHash("sha256").update(eventId).digest("hex").slice(0, 32);
}
