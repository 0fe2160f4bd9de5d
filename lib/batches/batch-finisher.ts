/**
 * A batch's end and its reports: each item as it stands (from two listings, reading only failed items' records, for
 * their reasons), the final manifest written once, and the one signed completion webhook whose outcome is recorded.
 */
import type { BatchContext } from "./batch-context.js";
import type { Manifest } from "./schema.js";

/** Parallel reads of job records when a batch needs some (the failed items' reasons). */
const READ_PARALLELISM = 16;

export class BatchFinisher {
  constructor(private readonly ctx: BatchContext) {}

  /**
   * Complete when every item (of those from `from` to before `to`) has ended: those refused at the start, plus one
   * `ended/` marker per other item.
   */
  isComplete(manifest: Manifest, ended: Map<number, string>, from = 0, to = manifest.items.length): boolean {
    for (let i = from; i < Math.min(to, manifest.items.length); i++)
      if (manifest.items[i]!.state !== "failed" && !ended.has(i)) return false;
    return true;
  }

  /** Makes a complete batch final (once: elected; `force` re-drives a finish whose elected finisher died). */
  async finish(
    manifest: Manifest,
    ended: Map<number, string>,
    opts: { force?: boolean; cancelled?: boolean } = {},
  ): Promise<void> {
    const { store } = this.ctx;
    if (!(await store.electFinal(manifest.batchId, this.ctx.now())) && !opts.force) return;
    // A cancelled batch's items never dispatched end cancelled.
    const items = (await this.items(manifest, ended, new Set())).map((i) =>
      opts.cancelled && i.state === "queued" ? { ...i, state: "cancelled" } : i,
    );
    const final: Manifest = {
      ...manifest,
      state: opts.cancelled ? "cancelled" : items.every((i) => i.state === "done") ? "done" : "partial",
      finishedAt: this.ctx.now().toISOString(),
      items,
    };
    await store.putManifest(final);
    this.ctx.forget(manifest.batchId);
    const counts = countsOf(items);
    this.ctx.deps.log.info("batch finished", { batchId: manifest.batchId, ...counts });
    if (final.notify) await this.notify(final);
    await store.clearPending(manifest.batchId);
  }

  /** A final batch whose finisher died before its webhook went out: sent now (the receiver dedupes on its id). */
  async finishReporting(final: Manifest): Promise<void> {
    if (final.notify && !final.notify.at) await this.notify(final);
    await this.ctx.store.clearPending(final.batchId);
  }

  /** Each item as it stands: refused at the start, ended (with the failed ones' reasons), in flight, or waiting. */
  async items(manifest: Manifest, ended: Map<number, string>, dispatched: Set<number>): Promise<Manifest["items"]> {
    const specs = manifest.items.some((_, i) => ended.get(i) === "done") ? await this.ctx.itemSpecs(manifest) : [];
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
          const failure = (await this.ctx.deps.jobs.get(items[i]!.jobId!))?.failure;
          items[i] = {
            ...items[i]!,
            failure: { code: failure?.code ?? "Failed", reason: failure?.reason ?? "the item's job failed" },
          };
        }),
      );
    }
    return items;
  }

  /**
   * One completion webhook, with an id to dedupe on. What became of it is written into the final manifest
   * (`notify.status` or `notify.error`), so `GET /v1/batches/{id}` tells whether the webhook was delivered.
   */
  async notify(manifest: Manifest): Promise<void> {
    const outcome = await this.ctx.webhooks.send(manifest.notify!.url, `${manifest.batchId}:final`, {
      type: "tts.batch.finished",
      batchId: manifest.batchId,
      state: manifest.state,
      counts: countsOf(manifest.items),
      items: manifest.items,
      finishedAt: manifest.finishedAt,
    });
    const notify = { url: manifest.notify!.url, at: this.ctx.now().toISOString(), ...outcome };
    await this.ctx.store.putManifest({ ...manifest, notify });
  }

  /** The batch as `GET /v1/batches/{id}` shows it: counts and each item's state, from two listings (no per-item reads). */
  async view(batchId: string): Promise<Record<string, unknown> | undefined> {
    const { store } = this.ctx;
    const manifest = await store.manifest(batchId);
    if (!manifest) return store.rejection(batchId);
    const items =
      manifest.state === "running"
        ? await this.items(manifest, await store.ended(batchId), await store.dispatched(batchId))
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

function countsOf(items: Manifest["items"]): { done: number; failed: number } {
  return {
    done: items.filter((i) => i.state === "done").length,
    failed: items.filter((i) => i.state === "failed").length,
  };
}

/**
 * What any reader sees of a batch's webhook: where it went (the origin) and how it answered, never its path or query,
 * which may carry the receiver's secret.
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
