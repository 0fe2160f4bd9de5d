/**
 * Jobs over their provider's limit: split at sentence ends into parts within it, each a job of its own keyed by its
 * content (so a resubmitted book reuses the parts already synthesized), synthesized `partConcurrency` at a time, a
 * failed part replaced once, and the parts handed once to `store`, which stitches them.
 */
import { createHash } from "node:crypto";
import { InputError } from "../errors.js";
import { chunkText, countNlsChars } from "../text/index.js";
import { escapeXml } from "../text/xml.js";
import type { JobCreation } from "./job-creation.js";
import { DEFAULT_AIGC_NOTICE, type JobContext, type JobSteps, type NewJob } from "./job-deps.js";
import { type Job, transition } from "./schema.js";

/** Which attempt at its text a part is: 0 for the first, 1 for its one replacement (its key ends `#1`). */
export function partAttempt(part: Pick<Job, "idempotencyKey">): number {
  return Number(/#(\d+)$/.exec(part.idempotencyKey)?.[1] ?? 0);
}

/** Ended parts' records a warm instance keeps: an ended part's record never changes (a failed one is replaced). */
const ENDED_PARTS_KEPT = 4096;

export class SplitJobs {
  readonly #endedParts = new Map<string, Job>();

  constructor(
    private readonly ctx: JobContext,
    private readonly creation: JobCreation,
    private readonly steps: JobSteps,
  ) {}

  /**
   * Whether a job is made of parts: its text is over its provider's limit, it is a book (the
   * parts are cut at chapter ends, so each chapter starts a part), or it says an audible notice first (the notice is a
   * part of its own, so stitching measures it and shifts every cue after it by exactly its length).
   */
  isSplit(
    input: Pick<NewJob, "provider" | "text" | "chapters"> & { options?: Pick<NewJob["options"], "label"> },
  ): boolean {
    return (
      input.options?.label?.audible === true ||
      (input.chapters?.length ?? 0) > 0 ||
      countNlsChars(input.text) > this.ctx.partLimit(input.provider)
    );
  }

  /** The job's parts' texts (the notice first when it is asked for, then each chapter's, cut at sentence ends), and
   * where each chapter starts among them. */
  #plan(input: Pick<NewJob, "provider" | "text" | "ssml" | "options" | "chapters">): {
    pieces: string[];
    chapters?: Array<{ title: string; part: number }>;
  } {
    if (input.chapters?.length && input.options.format !== "mp3")
      throw new InputError(
        "format",
        `a book is made into MP3 and M4B: format must be mp3 (got ${input.options.format})`,
      );
    const limit = this.ctx.partLimit(input.provider);
    const cut = (text: string) => (countNlsChars(text) > limit ? chunkText(text, { max: limit }) : [text]);
    const notice = this.ctx.deps.aigcNotice ?? DEFAULT_AIGC_NOTICE;
    const pieces =
      input.options.label?.audible === true ? [input.ssml ? `<speak>${escapeXml(notice)}</speak>` : notice] : [];
    if (!input.chapters?.length) return { pieces: [...pieces, ...cut(input.text)] };
    const chapters = input.chapters.map((chapter) => {
      const part = pieces.length;
      pieces.push(...cut(chapter.text));
      return { title: chapter.title, part };
    });
    return { pieces, chapters };
  }

  /**
   * Checks a job's text and options by its provider's rules (each part's, for text beyond its limit) without writing
   * anything: a batch validates every inline item at its start, so a bad one is reported at once.
   */
  validate(input: Pick<NewJob, "provider" | "text" | "ssml" | "options" | "chapters">): void {
    const provider = this.ctx.provider(input.provider);
    for (const piece of this.#plan(input).pieces) provider.validate(piece, input.ssml, input.options);
  }

  /**
   * The characters each provider task of the job will bill, as the job would be made (split or not), writing nothing:
   * the same planning and counting `create` records on the job, so a quote and the finished job's figure agree.
   */
  planCharacters(input: Pick<NewJob, "provider" | "text" | "ssml" | "options" | "chapters">): number[] {
    const provider = this.ctx.provider(input.provider);
    if (!this.isSplit(input)) return [provider.validate(input.text, input.ssml, input.options).characters];
    return this.#plan(input).pieces.map((piece) => provider.validate(piece, input.ssml, input.options).characters);
  }

  /** Creates a split job and its parts, and submits the first parts; or answers the job that holds its key. */
  async create(input: NewJob): Promise<{ job: Job; created: boolean }> {
    const { deps } = this.ctx;
    const limit = this.ctx.partLimit(input.provider);
    const { pieces, chapters } = this.#plan(input);
    // Validates voice, options and every part by the provider's rules before anything is written.
    const provider = this.ctx.provider(input.provider);
    const characters = pieces.map((piece) => provider.validate(piece, input.ssml, input.options).characters);
    const { id, existing } = await this.creation.claim(input);
    if (existing) return { job: existing, created: false };
    await deps.storage.put(deps.jobs.textKey(id), input.text, { contentType: "text/plain; charset=utf-8" });
    const coverKey = input.cover ? deps.jobs.coverKey(id, input.cover.mediaType) : undefined;
    if (input.cover && coverKey)
      await deps.storage.put(coverKey, Buffer.from(input.cover.bytes), { contentType: input.cover.mediaType });
    const parts: NonNullable<Job["parts"]> = [];
    for (const [index, piece] of pieces.entries())
      parts.push({ jobId: (await this.#createPart(id, index, piece, input, 0)).id, characters: characters[index]! });
    const parent = this.creation.record(id, input, {
      state: "submitted",
      ssml: input.ssml,
      characters: characters.reduce((a, b) => a + b, 0),
      parts,
      ...(chapters ? { chapters } : {}),
      ...(input.book ? { book: { ...input.book, ...(coverKey ? { coverKey } : {}) } } : {}),
    });
    await deps.jobs.index(parent);
    const held = await deps.jobs.create(parent);
    if (held !== parent) return { job: held, created: false };
    deps.log.info("long job split into parts", { jobId: id, parts: parts.length, limit });
    return { job: await this.drive(parent), created: true };
  }

  /** A part: its own job, keyed by its content and attempt, writing its audio under the parts prefix. */
  async #createPart(
    parentId: string,
    index: number,
    text: string,
    input: Pick<NewJob, "provider" | "options" | "ssml" | "source" | "owner" | "fingerprint" | "batch">,
    attempt: number,
  ): Promise<Job> {
    const { deps } = this.ctx;
    const key = `part:${createHash("sha256")
      .update(JSON.stringify([input.provider, input.options, input.ssml, text]))
      .digest("hex")}${attempt ? `#${attempt}` : ""}`;
    const { id, existing } = await this.creation.claim({ idempotencyKey: key });
    if (existing) {
      // Another job's part (the same text): this parent is told of its end too, not only the job that created it.
      if (existing.parent?.id !== parentId) await deps.jobs.watchPart(existing.id, parentId);
      return existing;
    }
    await deps.storage.put(deps.jobs.textKey(id), text, { contentType: "text/plain; charset=utf-8" });
    const audioKey = `${deps.partsPrefix ?? "jobs/parts/"}${id}.${input.options.format}`;
    // A part is never its parent's batch item: only the parent's synthesis hands the item's slot on, and only the
    // parent's end (its whole audio stored) ends the item.
    const part: Job = {
      ...this.creation.record(
        id,
        {
          provider: input.provider,
          options: input.options,
          source: input.source,
          audioKey,
          idempotencyKey: key,
          ...(input.owner ? { owner: input.owner } : {}),
          ...(input.fingerprint ? { fingerprint: input.fingerprint } : {}),
        },
        { state: "queued", ssml: input.ssml, characters: countNlsChars(text) },
      ),
      // The part asks for timestamps (they stay on its record), but only the parent writes subtitle files.
      output: { audioKey },
      // Its parent's batch, so a cancelled batch stops its items' parts too (a part is not the batch's item).
      parent: { id: parentId, index, ...(input.batch ? { batchId: input.batch.id } : {}) },
    };
    return deps.jobs.create(part);
  }

  /**
   * Moves a split job along: replaces a failed part once (finished parts are kept), submits queued parts up to the
   * concurrency bound, and when every part is done elects the one hand-off to `store`, which stitches them.
   */
  async drive(parent: Job, opts: { force?: boolean } = {}): Promise<Job> {
    if (parent.state !== "submitted" || !parent.parts) return parent;
    const cancelled = await this.ctx.cancelledAt(parent);
    // A forced drive (reconcile) and a cancel read every part; a drive reads up to the parts it may start.
    const children = await this.#children(parent, { all: opts.force === true || cancelled !== undefined });
    if (cancelled) return this.#endCancelled(parent, children, cancelled, opts);
    const failedAt = children.findIndex((c) => c?.state === "failed");
    // A part that ended cancelled saw a cancel this drive's look came too early for: the parent is cancelled (a part
    // replaced then was made after the cancel had ended the parent, and sat queued until reconcile: seed 3488).
    const lateCancel = failedAt !== -1 && children[failedAt]!.failure?.code === "Cancelled";
    const cancelledSince = lateCancel ? await this.ctx.cancelledAt(parent) : undefined;
    if (cancelledSince)
      return this.#endCancelled(parent, await this.#children(parent, { all: true }), cancelledSince, opts);
    if (failedAt !== -1) return this.#replaceFailedPart(parent, children, failedAt, opts);
    if (children.every((c) => c?.state === "done")) return this.#assemble(parent, opts);
    await this.#submitQueued(children, opts);
    return parent;
  }

  /**
   * The parent's parts' records, in order. Unless `all`, reading stops once `partConcurrency` queued parts are read:
   * the parts after them are queued too (undefined here: not started, nothing to do). A drive starts only the first
   * queued parts, at most `partConcurrency`, so no part past that many queued ones has ever started, and none has
   * failed. Ended parts come from this instance's memory when it has them. Reading every part on every drive made a
   * job of N parts cost 2N² reads (14,520 of a 300-item budget bench's 17,500 record reads).
   */
  async #children(parent: Job, opts: { all: boolean }): Promise<Array<Job | undefined>> {
    const parts = parent.parts!;
    const width = this.ctx.deps.partConcurrency ?? 4;
    const children: Array<Job | undefined> = new Array(parts.length).fill(undefined);
    let queued = 0;
    for (let i = 0; i < parts.length && (opts.all || queued < width); i += width) {
      const read = await Promise.all(parts.slice(i, i + width).map((p) => this.#part(p.jobId)));
      for (const [k, child] of read.entries()) {
        if (!opts.all && queued >= width) break;
        children[i + k] = child;
        if (child?.state === "queued") queued++;
      }
    }
    return children;
  }

  async #part(id: string): Promise<Job | undefined> {
    const kept = this.#endedParts.get(id);
    if (kept) return kept;
    const part = await this.ctx.deps.jobs.get(id);
    if (part && (part.state === "done" || part.state === "failed")) {
      if (this.#endedParts.size >= ENDED_PARTS_KEPT) this.#endedParts.delete(this.#endedParts.keys().next().value!);
      this.#endedParts.set(id, part);
    }
    return part;
  }

  /**
   * A cancelled split job starts no more parts; once the parts that had started have ended (their tasks are billed
   * and their audio kept), it ends, saying what was billed.
   */
  async #endCancelled(
    parent: Job,
    children: ReadonlyArray<Job | undefined>,
    at: Date,
    opts: { force?: boolean },
  ): Promise<Job> {
    const { jobs } = this.ctx.deps;
    const inFlight = (c: Job | undefined) =>
      c && (c.state === "submitted" || c.state === "synthesized" || c.state === "stored");
    if (children.some(inFlight)) return parent;
    // A queued part whose call is noted may be asking its provider now: it is waited for like a running one (its
    // submitter ends it cancelled, or its task is made and billed).
    const queued = children.filter((c): c is Job => c?.state === "queued");
    const called = await Promise.all(queued.map((c) => jobs.callOf(c.id, c.retries ?? 0)));
    if (called.some((d) => d !== undefined)) {
      // A forced drive (reconcile) takes over such a part whose submitter died: submission settles the unknown call
      // (adopting its task, or past the provider's deadline ending it cancelled).
      if (opts.force)
        for (const [i, part] of queued.entries()) if (called[i]) await this.steps.submit(part, { force: true });
      return parent;
    }
    // The parts never started end too, billed nothing, so nothing is left pending (whichever drive sees them).
    for (const part of queued) await this.steps.endCancelled(part, at);
    // The parent ends once, by this cancel or by its assembly, whichever is elected first: an assembly elected first
    // (every part had ended before the cancel came) finishes the job as usual. Both writing the record lost one end
    // (the simulation's seed 8852: a job ended cancelled, then done).
    if (!(await jobs.elect(parent.id, "assemble", this.ctx.now())) && !opts.force) return parent;
    // A part is billed once its task has finished: the parent's own figure for it (the provider's count, as quoted).
    const started = parent.parts!.filter(
      (_, i) => children[i]?.task?.finishedAt !== undefined || children[i]?.state === "done",
    );
    const billed =
      started.reduce((n, p) => n + p.characters, 0) + parent.parts!.reduce((n, p) => n + (p.billedBefore ?? 0), 0);
    return this.steps.endCancelled(
      parent,
      at,
      billed,
      `cancelled: ${started.length} of ${children.length} parts had started and were billed (${billed} characters); their audio is kept under the parts prefix`,
    );
  }

  /** A part's synthesis or end moves its parent along, and every other job that shares the part (the same text). */
  async driveParentOf(part: Job): Promise<void> {
    const { jobs } = this.ctx.deps;
    for (const id of [part.parent!.id, ...(await jobs.watchersOf(part.id))]) {
      const parent = await jobs.get(id);
      if (parent) await this.drive(parent);
    }
  }

  /** A failed part is replaced once by a new part of the same text (attempt 1); failing twice fails the parent. */
  async #replaceFailedPart(
    parent: Job,
    children: ReadonlyArray<Job | undefined>,
    failedAt: number,
    opts: { force?: boolean },
  ): Promise<Job> {
    const { deps } = this.ctx;
    const failed = children[failedAt]!;
    const attempt = partAttempt(failed) + 1;
    // A part refused by its key's cap is not tried again: the cap stands until the day or month turns.
    if (attempt > 1 || failed.failure?.code === "CapExceeded")
      return this.steps.fail(
        parent,
        failed.failure?.code ?? "PartFailed",
        failed.failure?.code === "CapExceeded"
          ? `part ${failedAt + 1} of ${children.length} was not started: ${failed.failure.reason}`
          : `part ${failedAt + 1} of ${children.length} failed twice: ${failed.failure?.reason ?? "unknown"}`,
      );
    const text = (await deps.storage.get(deps.jobs.textKey(failed.id)))!.toString("utf8");
    const retry = await this.#createPart(parent.id, failedAt, text, parent, attempt);
    // The parent as it is now, not as this drive read it: another drive may have linked another part's replacement,
    // or assembled the whole and moved it on (writing back the copy read earlier undid that: a done job went back to
    // submitted and waited for reconcile). Only a parent still waiting on this very failed part is written.
    const latest = (await deps.jobs.get(parent.id)) ?? parent;
    if (latest.state !== "submitted" || latest.parts?.[failedAt]?.jobId !== failed.id) return this.drive(latest, opts);
    // A part that failed after its synthesis (storing it, say) was billed for: the job's progress keeps counting it.
    const billed = failed.task?.finishedAt ? failed.characters : 0;
    const parts = latest.parts.map((p, i) =>
      i === failedAt
        ? { ...p, jobId: retry.id, ...(billed ? { billedBefore: (p.billedBefore ?? 0) + billed } : {}) }
        : p,
    );
    const updated = { ...latest, parts, updatedAt: this.ctx.now().toISOString() };
    await deps.jobs.put(updated);
    deps.log.warn("part failed; retrying it alone", {
      jobId: parent.id,
      part: failedAt,
      reason: failed.failure?.reason,
    });
    return this.drive(updated, opts);
  }

  /**
   * Every part done: the one hand-off to `store`, which stitches them. `force` (reconcile, once the parent has sat
   * past the grace period) re-drives an assembly whose elected caller crashed or lost its election's answer: handing
   * the parent to `store` twice is safe, once is required.
   */
  async #assemble(parent: Job, opts: { force?: boolean }): Promise<Job> {
    const { deps } = this.ctx;
    const elected = await deps.jobs.elect(parent.id, "assemble", this.ctx.now());
    if (!elected && !opts.force) return parent;
    // From the record as it is now: a forced drive's copy may be older than an end written since.
    const latest = (await deps.jobs.get(parent.id)) ?? parent;
    const next = transition(latest, "synthesized", {}, this.ctx.now());
    if (!next) return parent;
    if (elected) await this.steps.synthesized(next);
    await deps.jobs.put(next);
    await deps.invoker.invokeAsync("store", { jobId: parent.id });
    return next;
  }

  /** Submits queued parts up to the bound, which is on provider tasks: a part whose synthesis ended holds none. */
  async #submitQueued(children: ReadonlyArray<Job | undefined>, opts: { force?: boolean }): Promise<void> {
    let running = children.filter((c) => c?.state === "submitted").length;
    for (const child of children) {
      if (running >= (this.ctx.deps.partConcurrency ?? 4)) break;
      if (child?.state !== "queued") continue;
      // A part may be queued because its submission failed transiently: submitting it again is safe (elected in
      // submit). A forced drive (reconcile, the parent idle past the grace period) also takes over a part whose
      // elected submitter died after its election: that part's own record has sat queued past the grace period too.
      const abandoned =
        opts.force === true && this.ctx.now().getTime() - Date.parse(child.updatedAt) >= this.ctx.staleAfterMs;
      const after = await this.steps.submit(child, { force: abandoned });
      // A part still queued after its submission either lost the election to a drive running at the same time (which
      // submits it: its slot is taken) or met a transient provider error (reconcile resubmits it). Either way it takes
      // the slot here; moving on to the next part took two drives' one free slot twice.
      if (after.state !== "failed") running++;
    }
  }
}
