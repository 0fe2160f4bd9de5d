/**
 * Job records in OSS (design.md): `records/<id>.json`, the input text beside it, a `pending/` index so `reconcile` finds
 * unfinished jobs without listing everything, and create-if-absent markers that elect each once-only step (one job per
 * idempotency key, one hand-off to `store` per job) however many duplicates race for it.
 */
import { createHash } from "node:crypto";
import { ProviderError } from "../errors.js";
import type { OssStorage } from "../storage/oss.js";
import { type Job, JobSchema } from "./schema.js";

export class JobStore {
  constructor(
    private readonly storage: OssStorage,
    private readonly prefix = "jobs/",
  ) {}

  #record(id: string): string {
    return `${this.prefix}records/${id}.json`;
  }

  textKey(id: string): string {
    return `${this.prefix}texts/${id}.txt`;
  }

  /**
   * Claims an idempotency key for `id`. Returns the id that owns the key: `id` itself when this call won,
   * or the earlier job's id (a retried request, a re-delivered event).
   */
  async claim(idempotencyKey: string, id: string): Promise<string> {
    const key = `${this.prefix}idem/${createHash("sha256").update(idempotencyKey).digest("hex")}`;
    const { created } = await this.storage.put(key, id, { ifAbsent: true, contentType: "text/plain" });
    if (created) return id;
    const owner = (await this.storage.get(key))?.toString("utf8");
    if (!owner) throw new ProviderError({ provider: "oss", code: "InconsistentIndex", upstreamMessage: `idempotency marker ${key} vanished`, retryable: true });
    return owner;
  }

  async get(id: string): Promise<Job | undefined> {
    const body = await this.storage.get(this.#record(id));
    return body ? JobSchema.parse(JSON.parse(body.toString("utf8"))) : undefined;
  }

  /** Writes the record (an idempotent overwrite) and keeps the pending index in step with the state. */
  async put(job: Job): Promise<void> {
    await this.storage.put(this.#record(job.id), JSON.stringify(job), { contentType: "application/json" });
    if (job.state === "done" || job.state === "failed") await this.storage.delete(`${this.prefix}pending/${job.id}`);
    else await this.storage.put(`${this.prefix}pending/${job.id}`, "", { contentType: "text/plain" });
  }

  /** True for exactly one caller per (job, step), whatever the number of duplicates or retries. */
  async elect(id: string, step: string): Promise<boolean> {
    return (await this.storage.put(`${this.prefix}elect/${id}/${step}`, new Date().toISOString(), { ifAbsent: true, contentType: "text/plain" })).created;
  }

  /** Whether a step has been elected already (without taking it). */
  async isElected(id: string, step: string): Promise<boolean> {
    return (await this.storage.head(`${this.prefix}elect/${id}/${step}`)) !== undefined;
  }

  /** Ids of unfinished jobs, page by page. */
  async *pending(): AsyncGenerator<string> {
    let marker: string | undefined;
    do {
      const page = await this.storage.list(`${this.prefix}pending/`, { marker, maxKeys: 500 });
      for (const o of page.objects) yield o.key.slice(`${this.prefix}pending/`.length);
      marker = page.next;
    } while (marker);
  }
}
