/**
 * Long-text jobs: create (once per idempotency key), submit to NLS, follow the task (callback hint or polling), hand
 * off to `store`, and recover whatever a lost callback, a crashed function or a failed write left behind.
 * Every step re-reads the record and is safe to repeat; once-only steps are elected in OSS.
 */
import { createHash, randomUUID } from "node:crypto";
import { AuthError, codeOf, InputError, ProviderError, reasonOf } from "../errors.js";
import type { Invoker } from "../invoke.js";
import type { Logger } from "../log.js";
import { LONG_TEXT_DEADLINE_MS } from "../providers/nls/long-text.js";
import type { ObjectStore } from "../storage/object-store.js";
import { chunkText, countNlsChars } from "../text/index.js";
import { callbackUrl, legacyCallbackUrl, verifyJobId } from "./callback-signature.js";
import { answersBeside, errorKeyFor, reportBeside } from "./error-object.js";
import type { JobProvider, ProviderName } from "./providers.js";
import { reconcileAction } from "./reconcile-policy.js";
import type { JobRecords } from "./records.js";
import { isTerminal, type Job, type JobOptions, transition } from "./schema.js";

/** New provider tasks for a job whose task failed transiently, before the job fails. */
const MAX_TASK_RETRIES = 2;

export interface JobServiceDeps {
  readonly jobs: JobRecords;
  readonly storage: ObjectStore;
  /**
   * Every provider by name: a missing name does not compile; `undefined` is a provider this deployment has no
   * credentials for (MiniMax without DASHSCOPE_API_KEY), refused with the reason.
   */
  readonly providers: Readonly<Record<ProviderName, JobProvider | undefined>>;
  readonly invoker: Invoker;
  readonly log: Logger;
  readonly callbackSecret: string;
  /** Public base URL of the callback function; without it jobs are followed by polling alone. */
  readonly callbackBaseUrl?: string;
  readonly outputPrefix: string;
  /** Where the parts of long jobs keep their audio (under the jobs prefix). */
  readonly partsPrefix?: string;
  /** At most this many characters per part (below the provider's limit): smaller parts run in parallel. */
  readonly partChars?: number;
  /** Parts of one job synthesized at once. */
  readonly partConcurrency?: number;
  /** Called when a job ends (done or failed): batches count their items with it. */
  readonly onEnded?: (job: Job) => Promise<void>;
  /**
   * Told once, by the caller elected to record it, that a job's synthesis ended (before its audio is stored): a batch
   * hands the item's slot on then. A failure is logged, not thrown: reconcile hands on a slot left behind.
   */
  readonly onSynthesized?: (job: Job) => Promise<void>;
  /** How a short wait is taken (the simulator runs waits on its own clock). */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => Date;
  readonly newId?: () => string;
  /** How long a step may sit before `reconcile` re-drives it. */
  readonly staleAfterMs?: number;
}

export interface NewJob {
  readonly provider: ProviderName;
  /** Who created it through the API (a digest of the key); absent for the operator's uploads and batches. */
  readonly owner?: string;
  /** A digest of the request; a different request under the same idempotency key is refused (422). */
  readonly fingerprint?: string;
  /** The job's id when the caller names it (a batch item's id is derived from the batch and item ids). */
  readonly id?: string;
  readonly batch?: Job["batch"];
  readonly text: string;
  readonly ssml: boolean;
  readonly options: JobOptions;
  readonly audioKey: string;
  readonly idempotencyKey: string;
  readonly source: Job["source"];
}

export class JobService {
  constructor(private readonly deps: JobServiceDeps) {}

  #now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /** Output keys for an audio key: the subtitles sit beside the audio with the same base name. */
  outputFor(audioKey: string, options: JobOptions): Job["output"] {
    const base = audioKey.replace(/\.[^./]+$/, "");
    return {
      audioKey,
      ...(options.subtitles.includes("srt") ? { srtKey: `${base}.srt` } : {}),
      ...(options.subtitles.includes("vtt") ? { vttKey: `${base}.vtt` } : {}),
    };
  }

  /**
   * Creates and submits a job, or returns the job that already holds this idempotency key.
   * Input is validated (by the provider's own rules) before anything is written.
   */
  providerOf(name: ProviderName): JobProvider {
    return this.#provider(name);
  }

  #provider(name: ProviderName): JobProvider {
    const provider = this.deps.providers[name];
    if (!provider)
      throw new InputError("provider", `"${name}" is not configured on this deployment`, {
        code: "UnsupportedProvider",
      });
    return provider;
  }

  /** The most characters one provider task of a job gets: the provider's limit, or less when configured. */
  #partLimit(name: ProviderName): number {
    return Math.min(this.#provider(name).limit, this.deps.partChars ?? Number.POSITIVE_INFINITY);
  }

  /**
   * Checks a job's text and options by its provider's rules (each part's, for text beyond its limit) without writing
   * anything: a batch validates every inline item at its start, so a bad one is reported at once.
   */
  validate(input: Pick<NewJob, "provider" | "text" | "ssml" | "options">): void {
    const provider = this.#provider(input.provider);
    const limit = this.#partLimit(input.provider);
    const pieces = countNlsChars(input.text) > limit ? chunkText(input.text, { max: limit }) : [input.text];
    for (const piece of pieces) provider.validate(piece, input.ssml, input.options);
  }

  async create(input: NewJob, opts: { submit?: boolean } = {}): Promise<{ job: Job; created: boolean }> {
    const provider = this.#provider(input.provider);
    if (countNlsChars(input.text) > this.#partLimit(input.provider)) return this.#createParent(input);
    const { characters } = provider.validate(input.text, input.ssml, input.options);
    const { id, existing } = await this.#claim(input);
    if (existing) return { job: existing, created: false };
    // Here either this call won the key, or an earlier one won it and crashed before writing the record: adopt it.
    await this.deps.storage.put(this.deps.jobs.textKey(id), input.text, { contentType: "text/plain; charset=utf-8" });
    const fresh = this.#record(id, input, { state: "queued", ssml: input.ssml, characters });
    await this.deps.jobs.index(fresh);
    const job = await this.deps.jobs.create(fresh);
    if (job !== fresh) return { job, created: false };
    // A batch item waits for its batch to hand it a slot; a synchronous provider is submitted through FC's queue.
    if (opts.submit === false) return { job, created: true };
    if (provider.synchronous) {
      await this.deps.invoker.invokeAsync("submit", { submitJob: job.id });
      return { job, created: true };
    }
    // The text was written a moment ago by this very call: it is passed on, not read back.
    return { job: await this.submit(job, { text: input.text }), created: true };
  }

  /**
   * Claims the job's idempotency key. When an earlier request holds it, that request's job is the answer (waiting a
   * moment for its record, which a concurrent winner may not have written yet), unless the earlier request differed:
   * reusing an idempotency key for another request is refused with 422, as the IETF Idempotency-Key draft and Stripe do.
   */
  async #claim(input: Pick<NewJob, "idempotencyKey" | "fingerprint" | "id">): Promise<{ id: string; existing?: Job }> {
    const claim = await this.deps.jobs.claim(
      input.idempotencyKey,
      input.id ?? this.deps.newId?.() ?? randomUUID(),
      input.fingerprint,
    );
    if (claim.won) return { id: claim.id };
    if (input.fingerprint && claim.fingerprint && claim.fingerprint !== input.fingerprint) {
      throw new InputError(
        "Idempotency-Key",
        "was already used for a different request; send a new key for a new request",
        { statusCode: 422, code: "IdempotencyKeyReused" },
      );
    }
    for (let attempt = 0; attempt < 6; attempt++) {
      const existing = await this.deps.jobs.get(claim.id);
      if (existing) return { id: claim.id, existing };
      await (this.deps.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms))))(25 * 2 ** attempt);
    }
    // The winner crashed before writing its record: this call adopts the id and writes it.
    return { id: claim.id };
  }

  /**
   * Text beyond the provider's limit: split at sentence ends into parts within it, each a job of its own keyed by its
   * content (so a resubmitted book reuses the parts already synthesized), run `partConcurrency` at a time.
   */
  async #createParent(input: NewJob): Promise<{ job: Job; created: boolean }> {
    const limit = this.#partLimit(input.provider);
    const pieces = chunkText(input.text, { max: limit });
    // Validates voice, options and every part by the provider's rules before anything is written.
    const characters = pieces.map(
      (piece) => this.#provider(input.provider).validate(piece, input.ssml, input.options).characters,
    );
    const { id, existing } = await this.#claim(input);
    if (existing) return { job: existing, created: false };
    await this.deps.storage.put(this.deps.jobs.textKey(id), input.text, { contentType: "text/plain; charset=utf-8" });
    const parts: NonNullable<Job["parts"]> = [];
    for (const [index, piece] of pieces.entries())
      parts.push({ jobId: (await this.#createPart(id, index, piece, input, 0)).id, characters: characters[index]! });
    const parent = this.#record(id, input, {
      state: "submitted",
      ssml: input.ssml,
      characters: characters.reduce((a, b) => a + b, 0),
      parts,
    });
    await this.deps.jobs.index(parent);
    const held = await this.deps.jobs.create(parent);
    if (held !== parent) return { job: held, created: false };
    this.deps.log.info("long job split into parts", { jobId: id, parts: parts.length, limit });
    return { job: await this.driveParent(parent), created: true };
  }

  async #createPart(parentId: string, index: number, text: string, input: NewJob, attempt: number): Promise<Job> {
    const options = input.options;
    const key = `part:${createHash("sha256")
      .update(JSON.stringify([input.provider, input.options, input.ssml, text]))
      .digest("hex")}${attempt ? `#${attempt}` : ""}`;
    const { id, existing } = await this.#claim({ idempotencyKey: key });
    if (existing) return existing;
    await this.deps.storage.put(this.deps.jobs.textKey(id), text, { contentType: "text/plain; charset=utf-8" });
    const audioKey = `${this.deps.partsPrefix ?? "jobs/parts/"}${id}.${input.options.format}`;
    // A part is never its parent's batch item: only the parent's synthesis hands the item's slot on, and only the
    // parent's end (its whole audio stored) ends the item.
    const { batch: _item, ...partInput } = input;
    const part: Job = {
      ...this.#record(
        id,
        { ...partInput, options, audioKey, idempotencyKey: key },
        { state: "queued", ssml: input.ssml, characters: countNlsChars(text) },
      ),
      // The part asks for timestamps (they stay on its record), but only the parent writes subtitle files.
      output: { audioKey },
      parent: { id: parentId, index },
    };
    return this.deps.jobs.create(part);
  }

  /**
   * Moves a split job along: replaces a failed part once (finished parts are kept), submits queued parts up to the
   * concurrency bound, and when every part is done elects the one hand-off to `store`, which stitches them.
   */
  async driveParent(parent: Job, opts: { force?: boolean } = {}): Promise<Job> {
    if (parent.state !== "submitted" || !parent.parts) return parent;
    const children = await Promise.all(parent.parts.map((p) => this.deps.jobs.get(p.jobId)));
    const failedAt = children.findIndex((c) => c?.state === "failed");
    if (failedAt !== -1) {
      const failed = children[failedAt]!;
      const attempt = Number(/#(\d+)$/.exec(failed.idempotencyKey)?.[1] ?? 0) + 1;
      if (attempt > 1)
        return this.fail(
          parent,
          failed.failure?.code ?? "PartFailed",
          `part ${failedAt + 1} of ${children.length} failed twice: ${failed.failure?.reason ?? "unknown"}`,
        );
      const text = (await this.deps.storage.get(this.deps.jobs.textKey(failed.id)))!.toString("utf8");
      const retry = await this.#createPart(
        parent.id,
        failedAt,
        text,
        {
          provider: parent.provider,
          text,
          ssml: parent.ssml,
          options: parent.options,
          audioKey: "",
          idempotencyKey: "",
          source: parent.source,
        },
        attempt,
      );
      // A part that failed after its synthesis (storing it, say) was billed for: the job's progress keeps counting it.
      const billed = failed.task?.finishedAt ? failed.characters : 0;
      const parts = parent.parts.map((p, i) =>
        i === failedAt
          ? { ...p, jobId: retry.id, ...(billed ? { billedBefore: (p.billedBefore ?? 0) + billed } : {}) }
          : p,
      );
      const updated = { ...parent, parts, updatedAt: this.#now().toISOString() };
      await this.deps.jobs.put(updated);
      this.deps.log.warn("part failed; retrying it alone", {
        jobId: parent.id,
        part: failedAt,
        reason: failed.failure?.reason,
      });
      return this.driveParent(updated, opts);
    }
    if (children.every((c) => c?.state === "done")) {
      // `force` (reconcile, once the parent has sat past the grace period) re-drives an assembly whose elected
      // caller crashed or lost its election's answer: handing the parent to `store` twice is safe, once is required.
      const elected = await this.deps.jobs.elect(parent.id, "assemble", this.#now());
      if (!elected && !opts.force) return parent;
      const next = transition(parent, "synthesized", {}, this.#now());
      if (!next) return parent;
      if (elected) await this.#synthesized(next);
      await this.deps.jobs.put(next);
      await this.deps.invoker.invokeAsync("store", { jobId: parent.id });
      return next;
    }
    // The bound is on provider tasks: a part whose synthesis ended holds none while its audio is stored.
    let running = children.filter((c) => c?.state === "submitted").length;
    for (const child of children) {
      if (running >= (this.deps.partConcurrency ?? 4)) break;
      if (child?.state !== "queued") continue;
      // A part may be queued because its submission failed transiently: submitting it again is safe (elected in submit).
      // A forced drive (reconcile, the parent idle past the grace period) also takes over a part whose elected
      // submitter died after its election: that part's own record has sat queued past the grace period too.
      const abandoned =
        opts.force === true &&
        this.#now().getTime() - Date.parse(child.updatedAt) >= (this.deps.staleAfterMs ?? 2 * 60_000);
      const after = await this.submit(child, { force: abandoned });
      // A part still queued after its submission either lost the election to a drive running at the same time (which
      // submits it: its slot is taken) or met a transient provider error (reconcile resubmits it). Either way it takes
      // the slot here; moving on to the next part took two drives' one free slot twice.
      if (after.state !== "failed") running++;
    }
    return parent;
  }

  /** Records a job that cannot run (bad file, bad options) as failed, so the failure is visible and final. */
  async createFailed(input: Omit<NewJob, "text" | "ssml"> & { reason: string; code: string }): Promise<Job> {
    const { id, existing } = await this.#claim(input);
    if (existing) return existing;
    const job = this.#record(id, input, {
      state: "failed",
      ssml: false,
      characters: 0,
      failure: { code: input.code, reason: input.reason, at: this.#now().toISOString() },
    });
    await this.deps.jobs.index(job);
    const held = await this.deps.jobs.create(job);
    if (held !== job) return held;
    await this.ended(job);
    return job;
  }

  #record(
    id: string,
    input: Pick<
      NewJob,
      "provider" | "idempotencyKey" | "source" | "options" | "audioKey" | "batch" | "owner" | "fingerprint"
    >,
    fields: Pick<Job, "state" | "ssml" | "characters"> & Partial<Job>,
  ): Job {
    const now = this.#now().toISOString();
    return {
      id,
      provider: input.provider,
      ...(input.owner ? { owner: input.owner } : {}),
      ...(input.fingerprint ? { fingerprint: input.fingerprint } : {}),
      ...(input.batch ? { batch: input.batch } : {}),
      createdAt: now,
      updatedAt: now,
      idempotencyKey: input.idempotencyKey,
      source: input.source,
      options: input.options,
      output: this.outputFor(input.audioKey, input.options),
      ...fields,
    };
  }

  /**
   * Submits a queued job, once per attempt however many callers race (elected in OSS), and never makes a second
   * provider task for an attempt (billed twice): the call is noted before the provider is asked and its task as soon as
   * it answers, so a caller that died or lost an answer leaves a trace. `force` (reconcile, after a grace period)
   * re-drives a job whose elected submitter died: it adopts a task noted for the attempt; calls the provider when the
   * dead submitter never did; and when it did but no task was noted (a task may exist), waits for that task's
   * callback, which adopts it, until the provider's deadline has passed, then submits a new attempt. A refusal that is
   * certain (the provider answered) is forgotten so the next run retries at once; a terminal one fails the job.
   * `text`: the job's text when the caller holds it (it has just stored it); otherwise it is read from OSS.
   */
  async submit(job: Job, opts: { force?: boolean; text?: string } = {}): Promise<Job> {
    if (job.state !== "queued") return job;
    const attempt = job.retries ?? 0;
    if (!(await this.deps.jobs.elect(job.id, `submit-${attempt}`, this.#now())) && !opts.force) return job;
    const log = this.deps.log.child({ jobId: job.id });
    if (opts.force) {
      const noted = await this.deps.jobs.taskOf(job.id, attempt);
      if (noted) return this.#adopt(job, noted, { force: true });
      const called = await this.deps.jobs.callOf(job.id, attempt);
      if (called) {
        if (this.#now().getTime() - called.getTime() < LONG_TEXT_DEADLINE_MS) return job;
        log.warn("an earlier submission's outcome is unknown and its deadline has passed; submitting a new attempt", {
          attempt,
        });
        // A forced re-drive takes over: a reconcile run that died after this election must not hold the job for
        // ever (the simulation's seed 567). The new attempt's own notes keep it to one provider task.
        await this.deps.jobs.elect(job.id, `retry-${attempt + 1}`, this.#now());
        const next = { ...job, retries: attempt + 1, updatedAt: this.#now().toISOString() };
        await this.deps.jobs.put(next);
        return this.submit(next, { force: true, ...(opts.text === undefined ? {} : { text: opts.text }) });
      }
    }
    const text = opts.text ?? (await this.deps.storage.get(this.deps.jobs.textKey(job.id)))?.toString("utf8");
    if (text === undefined) return this.fail(job, "InputMissing", "the job's text is missing from OSS");
    if (!(await this.deps.jobs.noteCall(job.id, attempt, this.#now()))) return job;
    let taskId: string;
    try {
      taskId = await this.#provider(job.provider).submit(job, text, this.#callbackUrl(job));
    } catch (error) {
      if (error instanceof ProviderError && !answeredBy(error)) {
        // The request may have reached the provider: a task may exist. Its callback adopts it; reconcile waits for it.
        log.warn("submission's outcome unknown; its callback or reconcile will settle it", { error });
        return job;
      }
      // The provider answered: no task was made. Forget the call so the next run may call again.
      await this.deps.jobs.forgetCall(job.id, attempt).catch(() => undefined);
      if (error instanceof ProviderError && error.retryable) {
        log.warn("submission refused for now; reconcile will retry", { error });
        return job;
      }
      if (error instanceof ProviderError || error instanceof InputError)
        return this.fail(job, codeOf(error), reasonOf(error));
      throw error;
    }
    const held = await this.deps.jobs.noteTask(job.id, attempt, taskId);
    log.info("job submitted", { taskId: held, characters: job.characters });
    return this.#adopt(job, held);
  }

  /**
   * Records `taskId` as the job's task and looks at it once. A fast provider can call back before the record says
   * "submitted" (the callback then finds nothing to do): the look closes that gap. It is only a look: a transient
   * failure of it is logged, not answered as a failure of the submission.
   */
  async #adopt(job: Job, taskId: string, opts: { force?: boolean } = {}): Promise<Job> {
    // Once per attempt: the submitter and a callback (or reconcile) may both get here, and the record is written by
    // one of them only, so no stale "submitted" ever lands on a record that has moved on (the simulation's seed 5806).
    const attempt = job.retries ?? 0;
    if (!(await this.deps.jobs.elect(job.id, `adopt-${attempt}`, this.#now())) && !opts.force) {
      const now = (await this.deps.jobs.get(job.id)) ?? job;
      return now.state === "submitted" ? this.pollTask(now, { force: false }) : now;
    }
    const latest = (await this.deps.jobs.get(job.id)) ?? job;
    const submitted = transition(
      latest,
      "submitted",
      { task: { id: taskId, submittedAt: this.#now().toISOString() } },
      this.#now(),
    );
    if (!submitted) return latest;
    await this.deps.jobs.put(submitted);
    try {
      return await this.pollTask(submitted, { force: false });
    } catch (error) {
      if (!(error instanceof ProviderError && error.retryable)) throw error;
      this.deps.log.warn("status look after submission failed; the callback or reconcile will follow the job", {
        jobId: job.id,
        error,
      });
      return submitted;
    }
  }

  #callbackUrl(job: { id: string; provider: ProviderName }): string | undefined {
    return this.deps.callbackBaseUrl && this.deps.providers[job.provider]?.callsBack
      ? callbackUrl(this.deps.callbackBaseUrl, this.deps.callbackSecret, job.id, job.provider)
      : undefined;
  }

  /**
   * A provider callback: authenticated by the URL's HMAC (and by the provider's own signature where it has one: ICE
   * with an AuthKey), then only a reason to ask the provider itself.
   */
  async onCallback(
    provider: ProviderName,
    jobId: string,
    auth: { signature: string | null; headers?: Headers; requestUrl?: string },
    /** The task the callback names (read from its body only once it is authenticated). */
    taskHint?: () => Promise<string | undefined>,
  ): Promise<Job> {
    if (!verifyJobId(this.deps.callbackSecret, jobId, auth.signature))
      throw new AuthError("invalid callback signature");
    const port = this.deps.providers[provider];
    if (port?.authenticateCallback) {
      // A provider's own callback signature may cover "the callback URL" without saying which one (ICE, facts §7): the
      // URL we gave it (path or earlier query form) and the URL the request really arrived at are all offered.
      const base = this.deps.callbackBaseUrl;
      const urls = [
        ...(base
          ? [
              callbackUrl(base, this.deps.callbackSecret, jobId, provider),
              legacyCallbackUrl(base, this.deps.callbackSecret, jobId, provider),
            ]
          : []),
        ...(auth.requestUrl ? [auth.requestUrl] : []),
      ];
      if (!port.authenticateCallback({ urls, headers: auth.headers ?? new Headers(), nowMs: this.#now().getTime() }))
        throw new AuthError(`invalid or stale ${provider} callback signature`);
    }
    const job = await this.deps.jobs.get(jobId);
    // Only a provider that calls back has callbacks; a job of another provider is not found here.
    if (!job || job.provider !== provider || !this.deps.providers[provider]?.callsBack)
      throw new InputError("jobId", `no ${provider} job ${jobId}`, { statusCode: 404, code: "NotFound" });
    // A task whose submitter died (or lost the provider's answer) before noting it: the callback says which it is, and
    // it is adopted rather than made again. The URL is this job's, signed: the task it reports is this job's.
    if (job.state === "queued") {
      const hinted = await taskHint?.().catch(() => undefined);
      if (hinted) {
        const held = await this.deps.jobs.noteTask(job.id, job.retries ?? 0, hinted);
        return this.#adopt(job, held);
      }
    }
    return this.pollTask(job, { force: false });
  }

  /**
   * Asks the provider about a submitted job. On success, exactly one caller (elected in OSS) records the result and
   * invokes `store`; `force` (from reconcile, after a grace period) re-drives a job whose elected caller crashed.
   */
  async pollTask(job: Job, opts: { force: boolean }): Promise<Job> {
    if (job.state !== "submitted" || !job.task) return job;
    const log = this.deps.log.child({ jobId: job.id, taskId: job.task.id });
    let status: Awaited<ReturnType<JobProvider["status"]>>;
    try {
      status = await this.#provider(job.provider).status(job.task.id);
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      // The task itself failed (the answer names it) with a transient code: polling it again cannot help, a new task can.
      const taskFailed = error.details.taskId !== undefined;
      if (taskFailed && error.retryable && (job.retries ?? 0) < MAX_TASK_RETRIES) {
        // The callback and the look after submission may both see the failure: one of them requeues.
        // `force` (reconcile) recovers a requeue whose elected caller crashed before writing it.
        if (!(await this.deps.jobs.elect(job.id, `retry-${(job.retries ?? 0) + 1}`, this.#now())) && !opts.force)
          return job;
        const requeued = transition(job, "queued", { task: undefined, retries: (job.retries ?? 0) + 1 }, this.#now());
        if (!requeued) return job;
        await this.deps.jobs.put(requeued);
        log.warn("provider task failed transiently; resubmitting", {
          code: error.providerCode,
          retry: requeued.retries,
        });
        return this.submit(requeued);
      }
      if (taskFailed || !error.retryable) return this.fail(job, codeOf(error), reasonOf(error));
      throw error;
    }
    if (status.state !== "success") return job;
    const elected = await this.deps.jobs.elect(job.id, "synthesized", this.#now());
    if (!elected && !opts.force) return job;
    const next = transition(
      job,
      "synthesized",
      {
        task: {
          ...job.task,
          ...(status.audioAddress ? { audioAddress: status.audioAddress } : {}),
          sentences: status.sentences,
          finishedAt: this.#now().toISOString(),
        },
      },
      this.#now(),
    );
    if (!next) return job;
    if (elected) await this.#synthesized(next);
    await this.deps.jobs.put(next);
    await this.deps.invoker.invokeAsync("store", { jobId: job.id });
    log.info("job synthesized; store invoked", { sentences: status.sentences.length });
    if (elected && next.parent) await this.#partSynthesized(next);
    return next;
  }

  /**
   * A job's synthesis ended: `onSynthesized` is told before the record is written, so what waits on the slot (a
   * batch's next item) starts while the audio is copied. Only the elected caller tells it: a forced re-drive
   * (reconcile) cannot know whether a crashed one did, and a slot is never handed on twice. A failure is logged, not
   * thrown: reconcile refills a batch slot left behind.
   */
  async #synthesized(job: Job): Promise<void> {
    try {
      await this.deps.onSynthesized?.(job);
    } catch (error) {
      this.deps.log.warn("could not hand on the job's slot; reconcile will", { jobId: job.id, error });
    }
  }

  /**
   * A part's synthesis ended: its parent submits the next queued part now, while this one's audio is stored. The
   * parent counts its parts from their records, so it is driven after this part's record says so: of two parts whose
   * syntheses end together, each writes before it reads, so the later drive sees both slots free. A failure is
   * logged: the part's end drives the parent again, and reconcile drives a parent left waiting.
   */
  async #partSynthesized(part: Job): Promise<void> {
    try {
      await this.#driveParentOf(part);
    } catch (error) {
      this.deps.log.warn("could not drive the parent on its part's synthesis; the part's end will", {
        jobId: part.id,
        parentId: part.parent!.id,
        error,
      });
    }
  }

  async #driveParentOf(part: Job): Promise<void> {
    const parent = await this.deps.jobs.get(part.parent!.id);
    if (parent) await this.driveParent(parent);
  }

  /** Tells whoever waits on a job (a batch, a parent) that it has ended. */
  async ended(job: Job): Promise<void> {
    if (answersBeside(job) && job.state === "failed")
      this.deps.log.error("upload failed", {
        jobId: job.id,
        input: job.source.key,
        errorKey: errorKeyFor(job.output.audioKey),
        code: job.failure?.code,
        reason: job.failure?.reason,
      });
    await reportBeside(this.deps.storage, job);
    if (job.parent && job.state === "done") await this.#driveParentOf(job);
    await this.deps.onEnded?.(job);
  }

  async fail(job: Job, code: string, reason: string): Promise<Job> {
    const latest = (await this.deps.jobs.get(job.id)) ?? job;
    const next = transition(
      latest,
      "failed",
      { failure: { code, reason, at: this.#now().toISOString() } },
      this.#now(),
    );
    if (!next) return latest;
    await this.deps.jobs.put(next);
    this.deps.log.warn("job failed", { jobId: job.id, code, reason });
    await this.ended(next);
    return next;
  }

  /**
   * Drives every pending job whose step is overdue: resubmits queued jobs, polls submitted ones (a lost callback),
   * re-invokes `store` for synthesized ones, and fails jobs past the 3-hour promise or the 7-day audio retention.
   */
  async reconcile(): Promise<Record<string, number>> {
    const counts: Record<string, number> = { seen: 0, resubmitted: 0, polled: 0, restored: 0, failed: 0 };
    const now = this.#now().getTime();
    for await (const id of this.deps.jobs.pending()) {
      const job = await this.deps.jobs.get(id);
      if (!job || isTerminal(job.state)) continue;
      counts.seen!++;
      const action = reconcileAction(job, now, this.deps.staleAfterMs ?? 2 * 60_000);
      try {
        switch (action.kind) {
          case "fail":
            await this.fail(job, action.code, action.reason);
            counts.failed!++;
            break;
          case "drive-parent":
            await this.driveParent(job, { force: action.force });
            counts.polled!++;
            break;
          case "resubmit":
            await this.submit(job, { force: true });
            counts.resubmitted!++;
            break;
          case "poll":
            await this.pollTask(job, { force: true });
            counts.polled!++;
            break;
          case "restore":
            await this.deps.invoker.invokeAsync("store", { jobId: job.id });
            counts.restored!++;
            break;
          case "wait":
            break;
        }
      } catch (error) {
        this.deps.log.warn("reconcile step failed; next run retries", { jobId: id, error });
      }
    }
    return counts;
  }
}

/**
 * Whether a provider error is the provider's own answer (its request arrived, and no task was made), rather than a
 * network failure after which a task may exist: a connection reset or a timeout says nothing about the far end.
 */
function answeredBy(error: ProviderError): boolean {
  return !/^(E[A-Z]+|NetworkError|RequestTimeout(Error)?|Timeout|UND_ERR\w*|SocketError|AbortError)$/.test(
    error.providerCode,
  );
}
