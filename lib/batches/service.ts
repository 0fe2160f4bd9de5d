/**
 * EventBridge batches: one event, many items, one manifest. An item's job is created when the item is handed a slot
 * (its id is derived from the batch and item ids, so the manifest names it from the start), through FC's async
 * invocation (its queue and retries). When an item's synthesis ends (or its job ends without one), the item hands its
 * slot to the next one: the bound is on provider tasks, and the audio is copied while the next item synthesizes.
 * When the last item ends, the manifest is made final (once) and one signed completion webhook is sent.
 *
 * Nothing here reads every item's job: progress is kept in per-item markers (`dispatch-<i>` elections,
 * `ended/<i>.<state>`) that a listing counts, a thousand at a time, so starting and reporting a 10,000-item batch stays
 * within its functions' timeouts. A re-delivered event finds its manifest and starts nothing; `reconcile` re-drives a
 * batch whose dispatch or finish was lost (a `batch-pending/` marker lists the batches not yet final).
 *
 * BatchService is the machine's one entry point; its roles are `BatchIntake` (the start), `BatchScheduler` (slots,
 * items, reconcile) and `BatchFinisher` (the end, the webhook and the view), over a shared `BatchContext`.
 */
import type { InputError } from "../errors.js";
import type { Job } from "../jobs/schema.js";
import { BatchContext, type BatchDeps } from "./batch-context.js";
import { BatchFinisher } from "./batch-finisher.js";
import { BatchIntake } from "./batch-intake.js";
import { BatchScheduler } from "./batch-scheduler.js";
import type { Manifest } from "./schema.js";

export { type BatchDeps, itemJobId } from "./batch-context.js";

export class BatchService {
  readonly #ctx: BatchContext;
  readonly #intake: BatchIntake;
  readonly #scheduler: BatchScheduler;
  readonly #finisher: BatchFinisher;

  constructor(deps: BatchDeps) {
    this.#ctx = new BatchContext(deps);
    this.#finisher = new BatchFinisher(this.#ctx);
    this.#scheduler = new BatchScheduler(this.#ctx, this.#finisher);
    this.#intake = new BatchIntake(this.#ctx, this.#scheduler);
  }

  manifest(batchId: string): Promise<Manifest | undefined> {
    return this.#ctx.store.manifest(batchId);
  }

  /** Starts the batch an event carries (its id and data: the edge unwraps EventBridge's CloudEvent), once per batch id. */
  start(event: { readonly id: string; readonly data: unknown }): Promise<Manifest> {
    return this.#intake.start(event);
  }

  /** Starts the batch an uploaded `.batch.jsonl` file holds, once per object version. */
  startFromUpload(key: string, etag: string): Promise<Manifest> {
    return this.#intake.startFromUpload(key, etag);
  }

  /** A dry run of a batch event (`dryRun: true`): its quote told to its webhook; nothing is recorded or started. */
  quoted(
    event: { readonly id: string; readonly data: unknown },
    quote: Record<string, unknown>,
  ): ReturnType<BatchIntake["quoted"]> {
    return this.#intake.quoted(event, quote);
  }

  rejectUpload(key: string, etag: string, error: InputError): ReturnType<BatchIntake["rejectUpload"]> {
    return this.#intake.rejectUpload(key, etag, error);
  }

  reject(
    event: { readonly id?: string; readonly data?: unknown },
    error: InputError,
  ): ReturnType<BatchIntake["reject"]> {
    return this.#intake.reject(event, error);
  }

  redrive(batchId: string, opts: { force?: boolean } = {}): Promise<void> {
    return this.#scheduler.redrive(batchId, opts);
  }

  runItem(batchId: string, index: number): Promise<{ jobId?: string; state: string }> {
    return this.#scheduler.runItem(batchId, index);
  }

  itemSynthesized(job: Job): Promise<void> {
    return this.#scheduler.itemSynthesized(job);
  }

  itemEnded(job: Job): Promise<void> {
    return this.#scheduler.itemEnded(job);
  }

  reconcile(): Promise<{ batches: number }> {
    return this.#scheduler.reconcile();
  }

  view(batchId: string): Promise<Record<string, unknown> | undefined> {
    return this.#finisher.view(batchId);
  }

  /**
   * Cancels a running batch: no item is dispatched after this, an item whose job has not started ends cancelled, and
   * items already running finish (billed, their audio kept). The batch ends `cancelled` once they have, and its
   * webhook says so. Undefined for no such batch; a batch that has ended is shown as it is.
   */
  async cancel(batchId: string): Promise<Record<string, unknown> | undefined> {
    const manifest = await this.#ctx.store.manifest(batchId);
    if (!manifest) return undefined;
    if (manifest.state === "running") {
      await this.#ctx.deps.jobs.cancel("batches", batchId, this.#ctx.now());
      await this.#scheduler.redrive(batchId);
    }
    return this.view(batchId);
  }
}
