/**
 * A running batch's slots: at most `concurrency` items hold a provider task at once. An item is elected for a slot
 * once and handed to `submit` through FC's queue (`runItem` makes and submits its job); when its synthesis ends, or
 * its job ends without one, it hands the slot to its successor; the item that ends last finishes the batch.
 * `redrive` (the start, and reconcile) fills free slots from the markers, and recovers lost dispatches.
 */
import { InputError } from "../errors.js";
import { bookJobFields } from "../jobs/book-job.js";
import { bookOfObject } from "../jobs/book-object.js";
import { readInputText } from "../jobs/intake.js";
import type { Job } from "../jobs/schema.js";
import type { BatchContext, Running } from "./batch-context.js";
import type { BatchFinisher } from "./batch-finisher.js";
import type { Manifest } from "./schema.js";

export class BatchScheduler {
  constructor(
    private readonly ctx: BatchContext,
    private readonly finisher: BatchFinisher,
  ) {}

  /**
   * Re-drives a batch from its markers: finishes it when every item has ended, else hands free slots to waiting items.
   * Two listings and at most `concurrency` record reads, whatever the batch size. `force` (reconcile, once the batch
   * has sat past the grace period) also re-sends items whose dispatch was lost and finishes a batch whose elected
   * finisher died.
   */
  async redrive(batchId: string, opts: { force?: boolean } = {}): Promise<void> {
    const { store } = this.ctx;
    const batch = await this.ctx.running(batchId);
    if (!batch) {
      const final = await store.manifest(batchId);
      if (final && final.state !== "running") await this.finisher.finishReporting(final);
      else if (!final) await store.clearPending(batchId);
      return;
    }
    const { manifest } = batch;
    const ended = await store.ended(batchId);
    if (this.finisher.isComplete(manifest, ended)) return this.finisher.finish(manifest, ended, opts);
    // Cancelled: nothing more is dispatched; it ends once the items already dispatched have.
    if (await this.ctx.deps.jobs.cancelledAt("batches", batchId)) {
      const dispatched = await store.dispatched(batchId);
      if (opts.force)
        await this.#recover(
          manifest,
          [...dispatched].filter((i) => !ended.has(i)),
        );
      if ([...dispatched].every((i) => ended.has(i)))
        return this.finisher.finish(manifest, ended, { ...opts, cancelled: true });
      return;
    }
    const inFlightOf = (dispatched: Set<number>): number[] => [...dispatched].filter((i) => !ended.has(i));
    const handedOn = opts.force
      ? await this.#recover(manifest, inFlightOf(await store.dispatched(batchId)))
      : new Set<number>();
    // Listed after the records were read: a hand-on comes before its record says "synthesized", so every item those
    // records handed a slot to is in this listing, and counted.
    const dispatched = await store.dispatched(batchId);
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
    const { deps } = this.ctx;
    const handedOn = new Set<number>();
    for (const i of inFlight) {
      const job = await deps.jobs.get(manifest.items[i]!.jobId!);
      if (!job) await deps.invoker.invokeAsync("submit", { batchItem: { batchId: manifest.batchId, index: i } });
      else if (job.state === "done" || job.state === "failed") await this.itemEnded(job);
      else if (job.synthesizedAt !== undefined) handedOn.add(i);
    }
    return handedOn;
  }

  /** Elects item `index` for a slot (once, whoever races for it) and hands it to `submit` through FC's queue. */
  async #dispatch(manifest: Manifest, index: number): Promise<boolean> {
    // A cancelled batch dispatches nothing more (looked for before each dispatch, so none follows the cancel).
    if (await this.ctx.deps.jobs.cancelledAt("batches", manifest.batchId)) return false;
    if (!(await this.ctx.store.electDispatch(manifest.batchId, index, this.ctx.now()))) return false;
    await this.ctx.deps.invoker.invokeAsync("submit", { batchItem: { batchId: manifest.batchId, index } });
    return true;
  }

  /**
   * A dispatched item (the `submit` function's `batchItem` event): creates its job, with the derived id, and submits
   * it. A re-delivery finds the job by its idempotency key (no read first: the first delivery is the common case) and
   * only makes sure it was submitted; an item whose input cannot be read fails with the reason, and hands its slot on.
   */
  async runItem(batchId: string, index: number): Promise<{ jobId?: string; state: string }> {
    const { deps } = this.ctx;
    const batch = await this.ctx.running(batchId);
    const item = batch?.manifest.items[index];
    if (!batch || !item?.jobId || item.state !== "queued") return { state: "ignored" };
    const spec = (await this.ctx.itemSpecs(batch.manifest))[index];
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
      const field = `items[${item.id}].input.key`;
      // An item's input may be a book (.md, .epub): read into chapters, each starting a part of its own.
      const book = spec.input ? await bookOfObject(deps.storage, spec.input.key, field) : undefined;
      const read = spec.input && !book ? await readInputText(deps.storage, spec.input.key, field) : undefined;
      const etag = read?.etag ?? (spec.input && book ? ((await deps.storage.head(spec.input.key))?.etag ?? "") : "");
      const source: Job["source"] = spec.input
        ? { kind: "oss", bucket: deps.storage.bucket, key: spec.input.key, etag }
        : { kind: "inline" };
      const { job, created } = await deps.service.create({
        ...base,
        ...(book ? bookJobFields(book) : { text: read?.text ?? spec.text ?? spec.ssml! }),
        ssml: spec.ssml !== undefined,
        source,
      });
      // A re-delivery whose first delivery made the job but never got it submitted (it crashed, or the provider refused
      // for a moment) submits it now; submission is elected, so a racing first delivery never submits it twice.
      const now = !created && job.state === "queued" ? await deps.service.submit(job) : job;
      return { jobId: now.id, state: now.state };
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      const job = await deps.service.createFailed({
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
   * item hands on at most one, so the bound holds without counting what is in flight. Then its group's markers are
   * counted (one listing of at most `groupSize`); the end that completes a group marks it and counts the groups (one
   * listing), and the end that completes the last group reads every marker once, to finish the batch. Whichever of
   * two racing ends writes its marker last sees the other's, so some end always completes each group and the batch;
   * an end that crashes between the two is recovered by reconcile's redrive, which counts every marker. A batch of
   * any size costs each end two requests besides its marker (it cost a listing of every marker, quadratic in all).
   */
  async itemEnded(job: Job): Promise<void> {
    const item = await this.#item(job);
    if (!item) return;
    const { batch, index } = item;
    const { manifest } = batch;
    const { batchId } = manifest;
    const { store } = this.ctx;
    const first = await store.markEnded(batchId, index, job.state);
    // A cancelled batch hands no slot on and ends when its dispatched items have, not all: redrive sees to it.
    if (await this.ctx.deps.jobs.cancelledAt("batches", batchId)) return this.redrive(batchId);
    if (first && job.synthesizedAt === undefined) await this.#dispatchNext(batch, index);
    const group = store.groupOf(index);
    if (!this.finisher.isComplete(manifest, await store.endedInGroup(batchId, group), ...store.groupRange(group)))
      return;
    await store.markGroupEnded(batchId, group);
    const groups = await store.endedGroups(batchId);
    // A group of items all refused at the start has no markers, and needs none.
    for (let g = 0; g < store.groupCount(manifest.items.length); g++)
      if (!groups.has(g) && !this.finisher.isComplete(manifest, new Map(), ...store.groupRange(g))) return;
    const ended = await store.ended(batchId);
    if (this.finisher.isComplete(manifest, ended)) await this.finisher.finish(manifest, ended);
  }

  /** The running batch a job is an item of, and the item's index in it. */
  async #item(job: Job): Promise<{ batch: Running; index: number } | undefined> {
    // A part of a split item is not the item (records made before parts stopped carrying the batch say otherwise).
    if (!job.batch || job.parent) return undefined;
    const batch = await this.ctx.running(job.batch.id);
    const index = batch?.index.get(job.batch.item);
    return batch && index !== undefined ? { batch, index } : undefined;
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
    for (let p = successorPosition(batch, from); p < waiting.length; p++)
      if (await this.#dispatch(manifest, waiting[p]!)) return true;
    return false;
  }

  /**
   * Re-drives every batch not yet final that has sat past the grace period (a lost dispatch, a finisher that died).
   * Called by the reconcile function beside the jobs' own reconcile.
   */
  async reconcile(): Promise<{ batches: number }> {
    const { deps, store } = this.ctx;
    let batches = 0;
    const stale = deps.staleAfterMs ?? 2 * 60_000;
    for await (const batchId of store.pending()) {
      try {
        const manifest = await store.manifest(batchId);
        const force = !manifest || this.ctx.now().getTime() - Date.parse(manifest.createdAt) >= stale;
        await this.redrive(batchId, { force });
        batches++;
      } catch (error) {
        deps.log.warn("reconcile could not advance a batch; next run retries", { batchId, error });
      }
    }
    return { batches };
  }
}

/**
 * Where in the waiting order item `index`'s successor stands: `concurrency` places on, as the start dispatches the
 * first `concurrency` waiting items. Past the end when it has none (or is not a waiting item).
 */
function successorPosition(batch: Running, index: number): number {
  const position = batch.waiting.indexOf(index);
  return position === -1 ? batch.waiting.length : position + batch.manifest.concurrency;
}
