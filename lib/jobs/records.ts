/**
 * Job records in OSS (design.md): `records/<id>.json`, the input text beside it, a `pending/` index so `reconcile` finds
 * unfinished jobs without listing everything, and create-if-absent markers that elect each once-only step (one job per
 * idempotency key, one hand-off to `store` per job) however many duplicates race for it.
 */
import { createHash, randomUUID } from "node:crypto";
import { ProviderError } from "../errors.js";
import type { ObjectStore } from "../storage/object-store.js";
import { type Job, JobSchema } from "./schema.js";

export class JobRecords {
  constructor(
    private readonly storage: ObjectStore,
    private readonly prefix = "jobs/",
  ) {}

  #record(id: string): string {
    return `${this.prefix}records/${id}.json`;
  }

  textKey(id: string): string {
    return `${this.prefix}texts/${id}.txt`;
  }

  /**
   * Claims an idempotency key for `id`. Returns the id that owns the key and whether this call won it: `id` itself
   * when it did, or the earlier job's id (a retried request, a re-delivered event), with the fingerprint of the request
   * that won. The marker carries a nonce of the call that wrote it, so a claim whose answer was lost and was retried
   * (409) still recognises its own win, and two claims of the same given id are told apart.
   */
  async claim(
    idempotencyKey: string,
    id: string,
    fingerprint?: string,
  ): Promise<{ id: string; won: boolean; fingerprint?: string }> {
    const key = `${this.prefix}idem/${createHash("sha256").update(idempotencyKey).digest("hex")}`;
    const nonce = randomUUID();
    const { created } = await this.storage.put(
      key,
      JSON.stringify({ id, nonce, ...(fingerprint ? { fingerprint } : {}) }),
      { ifAbsent: true, contentType: "application/json" },
    );
    if (created) return { id, won: true, ...(fingerprint ? { fingerprint } : {}) };
    // A concurrent winner's marker can be refused to us (409) a moment before it can be read: wait for it.
    const body = await this.#readSoon(key);
    if (!body)
      throw new ProviderError({
        provider: "oss",
        code: "InconsistentIndex",
        upstreamMessage: `idempotency marker ${key} vanished`,
        retryable: true,
      });
    const marker = parseMarker(body);
    return {
      id: marker.id,
      won: marker.nonce === nonce,
      ...(marker.fingerprint ? { fingerprint: marker.fingerprint } : {}),
    };
  }

  /** An object that a 409 says exists, read with a few short retries while its writer commits it. */
  async #readSoon(key: string): Promise<string | undefined> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const body = await this.storage.get(key);
      if (body) return body.toString("utf8");
      await new Promise((r) => setTimeout(r, 25 * 2 ** Math.min(attempt, 5)));
    }
    return undefined;
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

  /**
   * True for exactly one caller per (job, step), whatever the number of duplicates or retries. The marker holds a
   * token unique to this call, so a create whose response was lost and was retried (answered 409) still knows it won.
   */
  async elect(id: string, step: string, at = new Date()): Promise<boolean> {
    const key = `${this.prefix}elect/${id}/${step}`;
    const token = `${at.toISOString()} ${randomUUID()}`;
    if ((await this.storage.put(key, token, { ifAbsent: true, contentType: "text/plain" })).created) return true;
    return (await this.#readSoon(key)) === token;
  }

  /** Whether a step has been elected already (without taking it). */
  async isElected(id: string, step: string): Promise<boolean> {
    return (await this.storage.head(`${this.prefix}elect/${id}/${step}`)) !== undefined;
  }

  /** When a step was elected (undefined when it has not been), so `reconcile` can tell an election nobody finished. */
  async electedAt(id: string, step: string): Promise<Date | undefined> {
    const body = await this.storage.get(`${this.prefix}elect/${id}/${step}`);
    if (!body) return undefined;
    const at = Date.parse(body.toString("utf8").split(" ")[0]!);
    return new Date(Number.isNaN(at) ? 0 : at);
  }

  /** The steps of `id` elected so far whose names start with `stepPrefix`, a thousand per listing request. */
  async *elections(id: string, stepPrefix: string): AsyncGenerator<string> {
    const dir = `${this.prefix}elect/${id}/`;
    let marker: string | undefined;
    do {
      const page = await this.storage.list(`${dir}${stepPrefix}`, { marker, maxKeys: 1000 });
      for (const o of page.objects) yield o.key.slice(dir.length);
      marker = page.next;
    } while (marker);
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

/** An idempotency marker: `{id, nonce, fingerprint}` JSON, or the bare id that earlier versions wrote. */
function parseMarker(body: string): { id: string; nonce?: string; fingerprint?: string } {
  if (!body.startsWith("{")) return { id: body };
  return JSON.parse(body) as { id: string; nonce?: string; fingerprint?: string };
}
