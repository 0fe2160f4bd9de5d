/**
 * Job records in OSS (design.md): `records/<id>.json`, the input text beside it, a `pending/` index so `reconcile` finds
 * unfinished jobs without listing everything, and create-if-absent markers that elect each once-only step (one job per
 * idempotency key, one hand-off to `store` per job) however many duplicates race for it.
 */
import { createHash, randomUUID } from "node:crypto";
import { UpstreamError } from "../errors.js";
import { abortableSleep } from "../retry.js";
import { type Bucket, keysUnder } from "../storage/bucket.js";
import { ParsedRecords } from "./parsed-records.js";
import { isTerminal, type Job, JobSchema } from "./schema.js";

export class JobRecords {
  readonly #parsed = new ParsedRecords((body) => JobSchema.parse(JSON.parse(body.toString("utf8"))));

  constructor(
    private readonly storage: Bucket,
    private readonly prefix = "jobs/",
    /** How a short wait is taken (the simulator runs waits on its own clock). */
    private readonly sleep: (ms: number) => Promise<void> = abortableSleep,
  ) {}

  #record(id: string): string {
    return `${this.prefix}records/${id}.json`;
  }

  textKey(id: string): string {
    return `${this.prefix}texts/${id}.txt`;
  }

  /** Where a job's whole is stitched before its final write (a book's chapters go in its tag): under the jobs prefix,
   * where the role may delete it, never among the user's outputs. */
  assemblyKey(id: string, format: string): string {
    return `${this.prefix}assembly/${id}.${format}`;
  }

  /** A book's step checkpoints (each chapter encoded) and working files, under the jobs prefix, deleted once done. */
  bookStepKey(id: string, name: string): string {
    return `${this.bookStepPrefix(id)}${name}.json`;
  }

  /**
   * Another job waits on a part it did not create: parts are keyed by their content, so two jobs with the same text
   * share one part, whose record names only the job that created it. Each other one leaves a marker here.
   */
  async watchPart(partId: string, parentId: string): Promise<void> {
    await this.storage.put(`${this.prefix}part-parents/${partId}/${parentId}`, "", {
      ifAbsent: true,
      contentType: "text/plain",
    });
  }

  /** The jobs besides its creator waiting on part `partId`. */
  async watchersOf(partId: string): Promise<string[]> {
    const dir = `${this.prefix}part-parents/${partId}/`;
    const ids: string[] = [];
    for await (const key of keysUnder(this.storage, dir)) ids.push(key.slice(dir.length));
    return ids;
  }

  /** A book's cover image, kept from its EPUB for its M4B. */
  coverKey(id: string, mediaType: string): string {
    return `${this.prefix}covers/${id}.${mediaType === "image/png" ? "png" : "jpg"}`;
  }

  bookStepPrefix(id: string): string {
    return `${this.prefix}book/${id}/`;
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
    const key = this.#idemKey(idempotencyKey);
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
      throw new UpstreamError({
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

  /** Whether an idempotency key is held already (by a job made, or being made, for it). */
  async claimed(idempotencyKey: string): Promise<boolean> {
    return (await this.storage.head(this.#idemKey(idempotencyKey))) !== undefined;
  }

  #idemKey(idempotencyKey: string): string {
    return `${this.prefix}idem/${createHash("sha256").update(idempotencyKey).digest("hex")}`;
  }

  /** An object that a 409 says exists, read with a few short retries while its writer commits it. */
  async #readSoon(key: string): Promise<string | undefined> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const body = await this.storage.get(key);
      if (body) return body.toString("utf8");
      await this.sleep(25 * 2 ** Math.min(attempt, 5));
    }
    return undefined;
  }

  /**
   * Indexes a new job so it can be found without its id: under its owner (`GET /v1/jobs` lists a key's own jobs) and
   * under its input object (`GET /v1/jobs?input=<key>` finds an upload's job). Index entries are empty objects whose
   * names sort newest first (a descending clock before the id), so one listing request gives a page in order. They
   * are written before the record: an entry whose record is not there yet (or never will be) is skipped when read.
   */
  async index(job: Pick<Job, "id" | "createdAt" | "owner" | "source">): Promise<void> {
    const entry = `${newestFirst(job.createdAt)}-${job.id}`;
    const keys = [
      ...(job.owner ? [`${this.#ownerDir(job.owner)}${entry}`] : []),
      ...(job.source.kind === "oss" ? [`${this.#inputDir(job.source.key)}${entry}`] : []),
    ];
    await Promise.all(keys.map((key) => this.storage.put(key, "", { contentType: "text/plain" })));
  }

  #ownerDir(owner: string): string {
    return `${this.prefix}index/owner/${owner}/`;
  }

  #inputDir(inputKey: string): string {
    return `${this.prefix}index/input/${createHash("sha256").update(inputKey).digest("hex").slice(0, 40)}/`;
  }

  /**
   * A page of jobs, newest first: an owner's (`by: {owner}`) or an input object's (`by: {input}`). `after` is the
   * `next` of the page before. At most one listing request and `limit` record reads per page.
   */
  async page(
    by: { owner: string } | { input: string },
    opts: { limit: number; after?: string },
  ): Promise<{ jobs: Job[]; next?: string }> {
    const dir = "owner" in by ? this.#ownerDir(by.owner) : this.#inputDir(by.input);
    const listed = await this.storage.list(dir, {
      maxKeys: opts.limit,
      ...(opts.after ? { marker: `${dir}${opts.after}` } : {}),
    });
    const ids = listed.objects.map((o) => o.key.slice(dir.length).replace(/^\d+-/, ""));
    const jobs = (await Promise.all(ids.map((id) => this.get(id)))).filter((j): j is Job => j !== undefined);
    const last = listed.objects.at(-1)?.key.slice(dir.length);
    return { jobs, ...(listed.next && last ? { next: last } : {}) };
  }

  async get(id: string): Promise<Job | undefined> {
    const body = await this.storage.get(this.#record(id));
    return body ? this.#parsed.get(id, body) : undefined;
  }

  /**
   * Writes a new job's record, an unfinished one's pending marker first: a crash between the two leaves a marker that
   * reconcile passes over (it finds no record), never a record that reconcile cannot find. The record is written
   * create-if-absent, and the record that holds is answered: this one, or the one a caller that claimed the same job
   * wrote first. A caller that adopted a claim whose winner seemed to have crashed (it was only
   * slow) must never overwrite that winner's record, which may have moved on to done (the simulation's seed 7466).
   */
  async create(job: Job): Promise<Job> {
    if (!isTerminal(job.state))
      await this.storage.put(`${this.prefix}pending/${job.id}`, "", { contentType: "text/plain" });
    const { created } = await this.storage.put(this.#record(job.id), JSON.stringify(job), {
      contentType: "application/json",
      ifAbsent: true,
    });
    return created ? job : ((await this.get(job.id)) ?? job);
  }

  /**
   * Writes the record (an idempotent overwrite) of a job `create` wrote; one that has ended leaves the pending index.
   * The marker is written once, at creation: putting it again at every step cost two requests per job and changed
   * nothing (it is empty, and reconcile judges a job by its record).
   */
  async put(job: Job): Promise<void> {
    // An ended record is final. A writer that read the job before it ended (a status poll, a drive of its parent, a
    // second store) and writes its older state now must not undo the end: the webhook and the user have seen it.
    if (!isTerminal(job.state)) {
      const current = await this.get(job.id);
      if (current && isTerminal(current.state)) return;
    }
    await this.storage.put(this.#record(job.id), JSON.stringify(job), { contentType: "application/json" });
    if (isTerminal(job.state)) await this.storage.delete(`${this.prefix}pending/${job.id}`);
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

  /**
   * Records that a job or a batch is cancelled (create-if-absent: the first cancel's time stands). Every provider
   * submission looks for it first, so no task starts after it; `cancelledAt` reads it.
   */
  async cancel(kind: "jobs" | "batches", id: string, at: Date): Promise<Date> {
    const key = `${this.prefix}cancels/${kind}/${id}`;
    if ((await this.storage.put(key, at.toISOString(), { ifAbsent: true, contentType: "text/plain" })).created)
      return at;
    return (await this.cancelledAt(kind, id)) ?? at;
  }

  async cancelledAt(kind: "jobs" | "batches", id: string): Promise<Date | undefined> {
    const body = await this.storage.get(`${this.prefix}cancels/${kind}/${id}`);
    return body ? new Date(body.toString("utf8")) : undefined;
  }

  /**
   * Write-ahead notes of a submission, so no provider task is ever made twice for one attempt: `call-<attempt>` just
   * before the provider is called, `task-<attempt>` (holding the task's id) as soon as it answers. A submitter that
   * died between the two leaves the one ambiguous state: a task may exist, and only its callback or the provider's
   * deadline can tell.
   */
  async noteCall(id: string, attempt: number, at: Date): Promise<boolean> {
    // An election: of two submitters that both got this far (a slow one and the one reconcile sent after it), only
    // the one that writes the note calls the provider.
    return this.elect(id, `call-${attempt}`, at);
  }

  /** When the provider was called for `attempt` (undefined: never, or its refusal was certain and forgotten). */
  async callOf(id: string, attempt: number): Promise<Date | undefined> {
    return this.electedAt(id, `call-${attempt}`);
  }

  /** The provider certainly refused `attempt`: no task exists, so the next submitter may call it again at once. */
  async forgetCall(id: string, attempt: number): Promise<void> {
    await this.storage.delete(`${this.prefix}elect/${id}/call-${attempt}`);
  }

  /** Records `attempt`'s task once; answers the task id that holds the attempt (this one, or one noted earlier). */
  async noteTask(id: string, attempt: number, taskId: string): Promise<string> {
    const key = `${this.prefix}elect/${id}/task-${attempt}`;
    if ((await this.storage.put(key, taskId, { ifAbsent: true, contentType: "text/plain" })).created) return taskId;
    return (await this.#readSoon(key)) ?? taskId;
  }

  /** The task noted for `attempt`, if any. */
  async taskOf(id: string, attempt: number): Promise<string | undefined> {
    return (await this.storage.get(`${this.prefix}elect/${id}/task-${attempt}`))?.toString("utf8");
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
    for await (const key of keysUnder(this.storage, `${dir}${stepPrefix}`)) yield key.slice(dir.length);
  }

  /** Ids of unfinished jobs, page by page. */
  async *pending(): AsyncGenerator<string> {
    const dir = `${this.prefix}pending/`;
    for await (const key of keysUnder(this.storage, dir, 500)) yield key.slice(dir.length);
  }
}

/** Names that sort newest first: milliseconds left until the year 2286, zero-padded to a fixed width. */
function newestFirst(createdAt: string): string {
  return String(9_999_999_999_999 - Date.parse(createdAt)).padStart(13, "0");
}

/** A page cursor as `page` gives it (`next`): a sort key and a job id, nothing that could leave the index's folder. */
export const PAGE_CURSOR = /^\d{13}-[0-9a-z-]{8,64}$/;

/** An idempotency marker: `{id, nonce, fingerprint}` JSON, or the bare id that earlier versions wrote. */
function parseMarker(body: string): { id: string; nonce?: string; fingerprint?: string } {
  if (!body.startsWith("{")) return { id: body };
  return JSON.parse(body) as { id: string; nonce?: string; fingerprint?: string };
}
