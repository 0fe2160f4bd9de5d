/**
 * A batch's start: from a CloudEvent (items inline, or a JSON Lines object `itemsFrom.key` names) or an uploaded
 * `.batch.jsonl` file, once per batch id. Starting costs a few writes whatever the batch's size: every item is checked
 * in memory (options, keys, inline text by its provider's rules), the item specs and the manifest are written once,
 * and the first `concurrency` items are dispatched. What cannot start a batch is recorded, and told to its webhook.
 */
import { InputError } from "../errors.js";
import { checkInputKey, checkOutputKey } from "../jobs/intake.js";
import { isRecord, parseInput } from "../validation.js";
import * as z from "../zod.js";
import { type BatchContext, batchIdOf, type ItemSpec, itemJobId } from "./batch-context.js";
import type { BatchScheduler } from "./batch-scheduler.js";
import { itemOptionsOf } from "./item-options.js";
import { batchItemsOf, readItemsFile } from "./items-file.js";
import {
  BatchHeaderFields,
  type BatchItem,
  BatchRequestSchema,
  isBatchKey,
  type Manifest,
  type Rejection,
} from "./schema.js";
import type { WebhookOutcome } from "./webhook.js";

/** A batch's header fields once checked: all but its items. */
type BatchHeader = { defaults: Record<string, unknown>; outputPrefix: string; notify?: { url: string } };

export class BatchIntake {
  constructor(
    private readonly ctx: BatchContext,
    private readonly scheduler: BatchScheduler,
  ) {}

  /**
   * Starts the batch an event carries (EventBridge's CloudEvent, unwrapped at the edge: its id and data), once per
   * batch id (the event's id unless the data names one). Its items come inline or from the JSON Lines object
   * `itemsFrom.key` names.
   */
  async start(event: { readonly id: string; readonly data: unknown }): Promise<Manifest> {
    const { deps, store } = this.ctx;
    const req = parseInput(BatchRequestSchema, event.data, "data");
    checkOutputKey(req.outputPrefix, deps.outputPrefix, "data.outputPrefix");
    if (req.notify) this.ctx.webhooks.check(req.notify.url);
    const batchId = req.batchId ?? batchIdOf(event.id);
    const existing = await store.manifest(batchId);
    if (existing) return existing;
    const items = await batchItemsOf(deps.storage, req, {
      inputPrefix: deps.inputPrefix,
      field: "data.itemsFrom.key",
    });
    return this.#begin(batchId, event.id, { ...req, items });
  }

  /**
   * A batch event with `dryRun: true`, quoted: the quote goes to its webhook as `tts.batch.quoted`, under the batch id
   * the batch would have had. Nothing is recorded and nothing starts, so the same event sent again without `dryRun`
   * starts the batch it quoted.
   */
  async quoted(
    event: { readonly id: string; readonly data: unknown },
    quote: Record<string, unknown>,
  ): Promise<{ state: "quoted"; batchId: string; quote: Record<string, unknown>; webhook?: WebhookOutcome }> {
    const data = isRecord(event.data) ? event.data : {};
    const batchId = typeof data.batchId === "string" && isBatchKey(data.batchId) ? data.batchId : batchIdOf(event.id);
    const notify = isRecord(data.notify) ? z.safeParse(BatchHeaderFields.notify, data.notify) : undefined;
    if (!notify?.success || !notify.data) return { state: "quoted", batchId, quote };
    this.ctx.webhooks.check(notify.data.url);
    const outcome = await this.ctx.webhooks.send(notify.data.url, `${batchId}:quoted:${event.id.slice(0, 256)}`, {
      type: "tts.batch.quoted",
      batchId,
      state: "quoted",
      quote,
    });
    return { state: "quoted", batchId, quote, webhook: outcome };
  }

  /**
   * Starts the batch an uploaded batch file holds (`.batch.jsonl` under the input prefix: a header line, then one item
   * a line), once per object version: its batch id is the header's, else made from the key and ETag.
   */
  async startFromUpload(key: string, etag: string): Promise<Manifest> {
    const { deps, store } = this.ctx;
    const { header, items } = await readItemsFile(deps.storage, key, {
      inputPrefix: deps.inputPrefix,
      field: key,
      header: true,
    });
    checkOutputKey(header!.outputPrefix, deps.outputPrefix, `${key} line 1.batch.outputPrefix`);
    if (header!.notify) this.ctx.webhooks.check(header!.notify.url);
    const eventId = `oss:${key}:${etag}`;
    const batchId = header!.batchId ?? batchIdOf(eventId);
    return (await store.manifest(batchId)) ?? this.#begin(batchId, eventId, { ...header!, items });
  }

  async #begin(
    batchId: string,
    eventId: string,
    req: BatchHeader & { items: readonly BatchItem[] },
  ): Promise<Manifest> {
    const { deps, store } = this.ctx;
    const items: Manifest["items"] = [];
    const specs: ItemSpec[] = [];
    const claimed = new Map<string, string>();
    for (const item of req.items) {
      const jobId = itemJobId(batchId, item.id);
      try {
        specs.push(this.#spec(item, req, claimed));
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
      createdAt: this.ctx.now().toISOString(),
      state: "running",
      concurrency: deps.concurrency,
      items,
      ...(req.notify ? { notify: req.notify } : {}),
    };
    // Specs first (keyed by the event, so two events racing for one batch id never mix), then the manifest that names them.
    await store.putSpecs(batchId, eventId, specs);
    await store.markPending(batchId);
    if (!(await store.createManifest(manifest))) return (await store.manifest(batchId))!;
    deps.log.info("batch started", {
      batchId,
      items: items.length,
      refused: items.filter((i) => i.state === "failed").length,
    });
    await this.scheduler.redrive(batchId);
    return manifest;
  }

  /** What an item's job will need, checked now: its options, its output key (one item's only), its text or input. */
  #spec(item: BatchItem, req: BatchHeader, claimed: Map<string, string>): NonNullable<ItemSpec> {
    const { deps } = this.ctx;
    const { options, provider } = itemOptionsOf(item, req.defaults, deps.defaultProvider);
    const audioKey = checkOutputKey(
      item.output?.key ?? `${req.outputPrefix}${item.id}.${options.format}`,
      deps.outputPrefix,
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
      checkInputKey(item.input.key, deps.inputPrefix, `items[${item.id}].input.key`);
    } else {
      const text = item.text ?? item.ssml;
      if (text === undefined) throw new InputError(`items[${item.id}]`, "needs one of text, ssml or input");
      deps.service.validate({ provider, text, ssml: item.ssml !== undefined, options });
    }
    return {
      ...(item.text !== undefined ? { text: item.text } : {}),
      ...(item.ssml !== undefined ? { ssml: item.ssml } : {}),
      ...(item.input ? { input: item.input } : {}),
      provider,
      options,
      audioKey,
    };
  }

  /**
   * Records why an uploaded batch file could not start its batch, as `reject` does for an event: under the batch id
   * its header names (read leniently: the header itself may be what is wrong), else the one its key and ETag give.
   */
  async rejectUpload(key: string, etag: string, error: InputError): ReturnType<BatchIntake["reject"]> {
    let header: unknown;
    try {
      const first = ((await this.ctx.deps.storage.get(key)) ?? Buffer.alloc(0)).subarray(0, 64 * 1024).toString("utf8");
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
    event: { readonly id?: string; readonly data?: unknown },
    error: InputError,
  ): Promise<Rejection | { state: "rejected"; error: Rejection["error"] }> {
    const data = isRecord(event.data) ? event.data : {};
    const eventId = event.id ? event.id.slice(0, 256) : undefined;
    const batchId =
      typeof data.batchId === "string" && isBatchKey(data.batchId)
        ? data.batchId
        : eventId
          ? batchIdOf(eventId)
          : undefined;
    const reason = { code: error.code, field: error.field, message: error.message };
    this.ctx.deps.log.error("batch event rejected", { batchId, eventId, field: error.field, reason: error.message });
    if (!batchId) return { state: "rejected", error: reason };
    const rejection: Rejection = {
      batchId,
      ...(eventId ? { eventId } : {}),
      state: "rejected",
      rejectedAt: this.ctx.now().toISOString(),
      error: reason,
    };
    await this.ctx.store.putRejection(rejection);
    const notify = isRecord(data.notify) ? z.safeParse(BatchHeaderFields.notify, data.notify) : undefined;
    if (notify?.success && notify.data)
      await this.ctx.webhooks.send(notify.data.url, `${batchId}:rejected:${eventId ?? ""}`, {
        type: "tts.batch.rejected",
        batchId,
        state: "rejected",
        error: reason,
        rejectedAt: rejection.rejectedAt,
      });
    return rejection;
  }
}
