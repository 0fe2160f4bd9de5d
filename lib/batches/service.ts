/**
 * EventBridge batches: one event, many items, one manifest. Items become jobs; they are dispatched through FC's
 * async invocation (its queue and retries) at most `concurrency` at a time; when the last one ends the manifest is
 * made final and one signed completion webhook is sent. A re-delivered event finds its manifest and starts nothing.
 */
import { createHash, createHmac } from "node:crypto";
import { InputError } from "../errors.js";
import type { Invoker } from "../invoke.js";
import { checkInputKey, checkOutputKey, readInputText } from "../jobs/intake.js";
import type { ProviderName } from "../jobs/providers.js";
import { type Job, JobOptionsSchema, isTerminal } from "../jobs/schema.js";
import type { JobService } from "../jobs/service.js";
import type { JobStore } from "../jobs/store.js";
import type { Logger } from "../log.js";
import { isPublicAddress, literalAddress } from "../net/public-address.js";
import { UnsafeAddressError, postWebhook } from "../net/webhook.js";
import { withRetry } from "../retry.js";
import type { OssStorage } from "../storage/oss.js";
import { isRecord, parseInput } from "../validation.js";
import { BATCH_ID, BatchRequestSchema, CloudEventSchema, cloudEventData, type Manifest, ManifestSchema, type Rejection, RejectionSchema } from "./schema.js";

export interface BatchDeps {
  readonly jobs: JobStore;
  readonly service: JobService;
  readonly storage: OssStorage;
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
  readonly now?: () => Date;
}

const RUNNING = new Set(["submitted", "synthesized", "stored"]);

export class BatchService {
  readonly #cache = new Map<string, { manifest: Manifest; index: Map<string, number> }>();

  constructor(private readonly deps: BatchDeps) {}

  #key(batchId: string): string {
    return `${this.deps.jobsPrefix}batches/${batchId}.json`;
  }

  /** Per-batch bookkeeping, apart from manifests and refusals: `ended/<item index>` markers and the dispatch `cursor`. */
  #dir(batchId: string): string {
    return `${this.deps.jobsPrefix}batch-state/${batchId}/`;
  }

  #rejectedKey(batchId: string): string {
    return `${this.deps.jobsPrefix}batches/rejected/${batchId}.json`;
  }

  async manifest(batchId: string): Promise<Manifest | undefined> {
    return this.#read(batchId, this.#key(batchId), ManifestSchema);
  }

  /** A batch's JSON object, by an id safe to put in a key (anything else has no object). */
  async #read<T>(batchId: string, key: string, schema: { parse(v: unknown): T }): Promise<T | undefined> {
    const body = /^[A-Za-z0-9._-]{1,128}$/.test(batchId) ? await this.deps.storage.get(key) : undefined;
    return body ? schema.parse(JSON.parse(body.toString("utf8"))) : undefined;
  }

  /** Starts the batch a CloudEvent carries, once per batch id (the event's id unless the data names one). */
  async start(event: unknown): Promise<Manifest> {
    const envelope = parseInput(CloudEventSchema, event, "event");
    const req = parseInput(BatchRequestSchema, cloudEventData(envelope), "data");
    checkOutputKey(req.outputPrefix, this.deps.outputPrefix, "data.outputPrefix");
    if (req.notify) this.#checkWebhook(req.notify.url);
    const batchId = req.batchId ?? batchIdOf(envelope.id);
    const existing = await this.manifest(batchId);
    if (existing) return existing;
    const items: Manifest["items"] = [];
    for (const item of req.items) {
      const options = { ...req.defaults, ...item.overrides };
      const idempotencyKey = `batch:${batchId}:${item.id}`;
      const base = { provider: (options.provider ?? this.deps.defaultProvider) as ProviderName, batch: { id: batchId, item: item.id }, idempotencyKey };
      let job: Job;
      let parsed = JobOptionsSchema.parse({});
      try {
        parsed = parseInput(JobOptionsSchema, options, `items[${item.id}].overrides`);
        const audioKey = checkOutputKey(item.output?.key ?? `${req.outputPrefix}${item.id}.${parsed.format}`, this.deps.outputPrefix, `items[${item.id}].output.key`, parsed.format);
        const read = item.input ? await readInputText(this.deps.storage, checkInputKey(item.input.key, this.deps.inputPrefix, `items[${item.id}].input.key`), `items[${item.id}].input.key`) : undefined;
        const text = read?.text ?? item.text ?? item.ssml;
        if (text === undefined) throw new InputError(`items[${item.id}]`, "needs one of text, ssml or input");
        const source: Job["source"] = item.input ? { kind: "oss", bucket: this.deps.storage.bucket, key: item.input.key, etag: read!.etag } : { kind: "inline" };
        job = (await this.deps.service.create({ ...base, text, ssml: item.ssml !== undefined, options: parsed, audioKey, source }, { submit: false })).job;
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        // A bad item is reported, never hidden, and never stops the others.
        job = await this.deps.service.createFailed({ ...base, options: parsed, audioKey: `${req.outputPrefix}${item.id}.${parsed.format}`, source: { kind: "inline" }, code: error.code, reason: error.message });
      }
      items.push({ id: item.id, jobId: job.id, state: job.state });
    }
    const manifest: Manifest = { batchId, eventId: envelope.id, createdAt: (this.deps.now?.() ?? new Date()).toISOString(), state: "running", concurrency: this.deps.concurrency, items, ...(req.notify ? { notify: req.notify } : {}) };
    const { created } = await this.deps.storage.put(this.#key(batchId), JSON.stringify(manifest), { ifAbsent: true, contentType: "application/json" });
    if (!created) return (await this.manifest(batchId))!;
    this.deps.log.info("batch started", { batchId, items: items.length });
    await this.advance(batchId);
    return manifest;
  }

  /**
   * Records why an event could not start a batch, under the batch id it names (or its event's), and tells its webhook
   * when it names a usable one. An InputError is the same on every delivery, so it is answered, not thrown for FC to retry.
   */
  async reject(event: unknown, error: InputError): Promise<Rejection | { state: "rejected"; error: Rejection["error"] }> {
    const envelope = isRecord(event) ? event : {};
    const given = cloudEventData(envelope);
    const data = isRecord(given) ? given : {};
    const eventId = typeof envelope.id === "string" && envelope.id !== "" ? envelope.id.slice(0, 256) : undefined;
    const batchId = typeof data.batchId === "string" && BATCH_ID.test(data.batchId) ? data.batchId : eventId ? batchIdOf(eventId) : undefined;
    const reason = { code: error.code, field: error.field, message: error.message };
    this.deps.log.error("batch event rejected", { batchId, eventId, field: error.field, reason: error.message });
    if (!batchId) return { state: "rejected", error: reason };
    const rejection: Rejection = { batchId, ...(eventId ? { eventId } : {}), state: "rejected", rejectedAt: (this.deps.now?.() ?? new Date()).toISOString(), error: reason };
    await this.deps.storage.put(this.#rejectedKey(batchId), JSON.stringify(rejection), { contentType: "application/json" });
    const notify = isRecord(data.notify) ? BatchRequestSchema.shape.notify.safeParse(data.notify) : undefined;
    if (notify?.success && notify.data) await this.#send(notify.data.url, `${batchId}:rejected:${eventId ?? ""}`, { type: "tts.batch.rejected", batchId, state: "rejected", error: reason, rejectedAt: rejection.rejectedAt });
    return rejection;
  }

  /**
   * Recounts the whole batch: dispatches queued items up to the bound and, when every item has ended, makes the
   * manifest final (once). O(n) reads, so only for start and reconcile (which repairs a slot a crash lost); an item's
   * end takes the O(1) path, `itemEnded`.
   */
  async advance(batchId: string): Promise<void> {
    const manifest = await this.manifest(batchId);
    if (!manifest || manifest.state !== "running") return;
    const jobs = await Promise.all(manifest.items.map((i) => (i.jobId ? this.deps.jobs.get(i.jobId) : undefined)));
    if (jobs.every((j) => j && isTerminal(j.state))) return this.#finish(manifest, jobs as Job[]);
    // In flight: submitted jobs, split jobs under way, and items handed to FC's queue but not yet submitted.
    const dispatched = await Promise.all(jobs.map((j) => (j?.state === "queued" ? this.deps.jobs.isElected(j.id, "dispatch") : false)));
    let running = jobs.filter((j, i) => j && (RUNNING.has(j.state) || dispatched[i])).length;
    for (const job of jobs) {
      if (running >= manifest.concurrency) break;
      if (job?.state !== "queued" || !(await this.deps.jobs.elect(job.id, "dispatch"))) continue;
      await this.deps.invoker.invokeAsync("submit", { submitJob: job.id });
      running++;
    }
  }

  /**
   * An item's job ended. The first report of it hands its slot to the next waiting item: every end dispatches at most
   * one, so the bound holds without counting what is in flight. Once nothing is left to dispatch, the ended items are
   * counted (one listing) to see whether the batch is complete. A handful of requests per item, whatever the batch size.
   */
  async itemEnded(job: Job): Promise<void> {
    if (!job.batch) return;
    const batch = await this.#running(job.batch.id);
    const index = batch?.index.get(job.batch.item);
    if (!batch || index === undefined) return;
    const first = (await this.deps.storage.put(`${this.#dir(batch.manifest.batchId)}ended/${String(index).padStart(5, "0")}`, job.state, { ifAbsent: true, contentType: "text/plain" })).created;
    if (first && (await this.#dispatchNext(batch.manifest))) return;
    await this.#finishIfComplete(batch.manifest);
  }

  /** Dispatches the first waiting item from the cursor (a hint: a stale one costs a lost election per item it is behind). */
  async #dispatchNext(manifest: Manifest): Promise<boolean> {
    const cursorKey = `${this.#dir(manifest.batchId)}cursor`;
    const hint = Number((await this.deps.storage.get(cursorKey))?.toString("utf8"));
    for (let i = Number.isInteger(hint) && hint >= 0 ? hint : 0; i < manifest.items.length; i++) {
      const item = manifest.items[i]!;
      if (!item.jobId || item.state !== "queued" || !(await this.deps.jobs.elect(item.jobId, "dispatch"))) continue;
      await this.deps.storage.put(cursorKey, String(i + 1), { contentType: "text/plain" });
      await this.deps.invoker.invokeAsync("submit", { submitJob: item.jobId });
      return true;
    }
    return false;
  }

  /** Complete when every item has ended: those that failed at the start, plus one `ended/` marker per other item. */
  async #finishIfComplete(manifest: Manifest): Promise<void> {
    const failedAtStart = manifest.items.filter((i) => i.state === "failed").length;
    let ended = 0;
    let marker: string | undefined;
    do {
      const page = await this.deps.storage.list(`${this.#dir(manifest.batchId)}ended/`, { marker, maxKeys: 1000 });
      ended += page.objects.length;
      marker = page.next;
    } while (marker);
    if (failedAtStart + ended < manifest.items.length) return;
    await this.advance(manifest.batchId); // reads every job once, and finishes
  }

  /** A running manifest never changes until it is made final, so a warm instance keeps it (and its item index). */
  async #running(batchId: string): Promise<{ manifest: Manifest; index: Map<string, number> } | undefined> {
    const cached = this.#cache.get(batchId);
    if (cached) return cached;
    const manifest = await this.manifest(batchId);
    if (!manifest || manifest.state !== "running") return undefined;
    const entry = { manifest, index: new Map(manifest.items.map((item, i) => [item.id, i])) };
    if (this.#cache.size >= 16) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(batchId, entry);
    return entry;
  }

  async #finish(manifest: Manifest, jobs: Job[]): Promise<void> {
    if (!(await this.deps.jobs.elect(`batch-${manifest.batchId}`, "final"))) return;
    const items = manifest.items.map((item, i) => ({ id: item.id, jobId: item.jobId, state: jobs[i]!.state, ...(jobs[i]!.state === "done" ? { output: jobs[i]!.output.audioKey } : {}), ...(jobs[i]!.failure ? { failure: { code: jobs[i]!.failure!.code, reason: jobs[i]!.failure!.reason } } : {}) }));
    const final: Manifest = { ...manifest, state: items.every((i) => i.state === "done") ? "done" : "partial", finishedAt: (this.deps.now?.() ?? new Date()).toISOString(), items };
    await this.deps.storage.put(this.#key(manifest.batchId), JSON.stringify(final), { contentType: "application/json" });
    const counts = { done: items.filter((i) => i.state === "done").length, failed: items.filter((i) => i.state === "failed").length };
    this.deps.log.info("batch finished", { batchId: manifest.batchId, ...counts });
    if (final.notify) await this.#notify(final, counts);
  }

  /** A webhook naming a non-public IP is refused up front, with the field; a host name is checked as it resolves. */
  #checkWebhook(url: string): void {
    const literal = literalAddress(new URL(url).hostname);
    if (literal !== undefined && !(this.deps.webhookAddresses ?? isPublicAddress)(literal)) {
      throw new InputError("data.notify.url", `must not be a loopback, private, link-local, unique-local or metadata-service address (${literal})`);
    }
  }

  /** One completion webhook, with an id to dedupe on. */
  async #notify(manifest: Manifest, counts: { done: number; failed: number }): Promise<void> {
    await this.#send(manifest.notify!.url, `${manifest.batchId}:final`, { type: "tts.batch.finished", batchId: manifest.batchId, state: manifest.state, counts, items: manifest.items, finishedAt: manifest.finishedAt });
  }

  /** A webhook delivery, signed over timestamp and body, retried with backoff; a failure is logged, never thrown. */
  async #send(url: string, delivery: string, payload: Record<string, unknown>): Promise<void> {
    const body = JSON.stringify({ id: delivery, ...payload });
    const timestamp = String(Math.floor((this.deps.now?.() ?? new Date()).getTime() / 1000));
    const signature = createHmac("sha256", this.deps.secret).update(`${timestamp}.${body}`).digest("hex");
    try {
      await withRetry(
        async () => {
          const status = await postWebhook(url, { headers: { "content-type": "application/json", "x-tts-delivery": delivery, "x-tts-timestamp": timestamp, "x-tts-signature": `v1=${signature}` }, body, timeoutMs: 10_000, allow: this.deps.webhookAddresses });
          if (status >= 500 || status === 429) throw Object.assign(new Error(`webhook answered ${status}`), { retryable: true });
          // A redirect is not followed: it could lead anywhere the address check would have refused.
          if (status >= 300 && status < 400) throw new Error(`webhook answered a redirect (${status}); not followed`);
        },
        // A refused address is final; a network failure or a timeout may pass.
        { attempts: 5, baseMs: 200, retryable: (e) => (e as { retryable?: boolean }).retryable === true || (!(e instanceof UnsafeAddressError) && (e as NodeJS.ErrnoException).code !== undefined) || (e as Error).name === "TimeoutError" },
      );
    } catch (error) {
      this.deps.log.warn("batch webhook failed", { delivery, error });
    }
  }

  /** The batch as `GET /v1/batches/{id}` shows it: counts and each item's live state. */
  async view(batchId: string): Promise<Record<string, unknown> | undefined> {
    const manifest = await this.manifest(batchId);
    if (!manifest) return this.#rejection(batchId);
    const items = manifest.state === "running" ? await Promise.all(manifest.items.map(async (i) => ({ ...i, state: (i.jobId ? (await this.deps.jobs.get(i.jobId))?.state : undefined) ?? i.state }))) : manifest.items;
    const counts: Record<string, number> = {};
    for (const i of items) counts[i.state] = (counts[i.state] ?? 0) + 1;
    return { batchId: manifest.batchId, state: manifest.state, createdAt: manifest.createdAt, finishedAt: manifest.finishedAt, counts, items };
  }

  #rejection(batchId: string): Promise<Rejection | undefined> {
    return this.#read(batchId, this.#rejectedKey(batchId), RejectionSchema);
  }
}

/** A batch without an id of its own is named after its event, so a re-delivery finds it. */
function batchIdOf(eventId: string): string {
  return createHash("sha256").update(eventId).digest("hex").slice(0, 32);
}
