/**
 * Long-text jobs: create (once per idempotency key), submit to the provider, follow the task (callback hint or
 * polling), hand off to `store`, and recover whatever a lost callback, a crashed function or a failed write left
 * behind. Every step re-reads the record and is safe to repeat; once-only steps are elected in OSS.
 *
 * JobService is the machine's one entry point; each role is a class of its own: `JobCreation` (claim and record),
 * `SplitJobs` (jobs over the provider's limit), `Submission` (the provider task), `ProviderCallbacks`, `JobEndings`
 * and `JobReconciler`. They call one another through this class (`JobSteps`), so a step is taken one way wherever
 * it starts.
 */

import { capRefusal } from "../caps/cap-check.js";
import { JobCreation } from "./job-creation.js";
import { JobContext, type JobServiceDeps, type JobSteps, type NewJob } from "./job-deps.js";
import { JobEndings } from "./job-endings.js";
import { JobReconciler } from "./job-reconciler.js";
import { ProviderCallbacks } from "./provider-callbacks.js";
import type { JobProvider, ProviderName } from "./providers.js";
import type { Job, JobOptions } from "./schema.js";
import { SplitJobs } from "./split-jobs.js";
import { Submission } from "./submission.js";

export type { JobServiceDeps, NewJob } from "./job-deps.js";

export class JobService implements JobSteps {
  readonly #ctx: JobContext;
  readonly #creation: JobCreation;
  readonly #split: SplitJobs;
  readonly #submission: Submission;
  readonly #callbacks: ProviderCallbacks;
  readonly #endings: JobEndings;
  readonly #reconciler: JobReconciler;

  constructor(deps: JobServiceDeps) {
    this.#ctx = new JobContext(deps);
    this.#creation = new JobCreation(this.#ctx, this);
    this.#split = new SplitJobs(this.#ctx, this.#creation, this);
    this.#submission = new Submission(this.#ctx, this);
    this.#callbacks = new ProviderCallbacks(this.#ctx, this.#submission, this);
    this.#endings = new JobEndings(this.#ctx, this);
    this.#reconciler = new JobReconciler(this.#ctx, this);
  }

  /** Output keys for an audio key: the subtitles sit beside the audio with the same base name. */
  outputFor(audioKey: string, options: JobOptions): Job["output"] {
    return this.#creation.outputFor(audioKey, options);
  }

  /** The provider by name, or an InputError naming `provider` when this deployment has none of that name. */
  providerOf(name: ProviderName): JobProvider {
    return this.#ctx.provider(name);
  }

  /** Checks a job's text and options by its provider's rules (each part's, beyond its limit), writing nothing. */
  validate(input: Pick<NewJob, "provider" | "text" | "ssml" | "options">): void {
    this.#split.validate(input);
  }

  /** The characters each of the job's provider tasks will bill (one entry unless it is split), writing nothing. */
  planCharacters(input: Pick<NewJob, "provider" | "text" | "ssml" | "options" | "chapters">): number[] {
    return this.#split.planCharacters(input);
  }

  /**
   * Creates and submits a job (split into parts beyond its provider's limit), or answers the job that already holds
   * its idempotency key. Input is validated by the provider's own rules before anything is written.
   */
  async create(input: NewJob, opts: { submit?: boolean } = {}): Promise<{ job: Job; created: boolean }> {
    await this.#refuseOverCap(input);
    return this.#split.isSplit(input) ? this.#split.create(input) : this.#creation.create(input, opts);
  }

  /** A key's new job that would pass one of its caps, whole, is refused up front (402 or 429, naming the cap). */
  async #refuseOverCap(input: NewJob): Promise<void> {
    const caps = this.#ctx.deps.caps;
    const limits = input.owner ? caps?.of(input.owner) : undefined;
    if (!caps || !input.owner || !limits) return;
    const characters = this.planCharacters(input).reduce((a, b) => a + b, 0);
    const spent = await caps.ledger.spent(input.owner, this.#ctx.now());
    const refusal = capRefusal(limits, spent, { provider: input.provider, characters }, caps.prices);
    // A replay (its idempotency key is held) bills nothing more: creation answers it with its job, or refuses a
    // different request under the same key (422). Only a new job is held to the cap.
    if (refusal && !(await this.#ctx.deps.jobs.claimed(input.idempotencyKey))) throw refusal;
  }

  /** Records a job that cannot run (bad file, bad options) as failed, so the failure is visible and final. */
  createFailed(input: Omit<NewJob, "text" | "ssml"> & { reason: string; code: string }): Promise<Job> {
    return this.#creation.createFailed(input);
  }

  submit(job: Job, opts: { force?: boolean; text?: string; resume?: boolean } = {}): Promise<Job> {
    return this.#submission.submit(job, opts);
  }

  pollTask(job: Job, opts: { force: boolean }): Promise<Job> {
    return this.#submission.poll(job, opts);
  }

  synthesized(job: Job): Promise<void> {
    return this.#submission.synthesized(job);
  }

  driveParent(parent: Job, opts: { force?: boolean } = {}): Promise<Job> {
    return this.#split.drive(parent, opts);
  }

  driveParentOf(part: Job): Promise<void> {
    return this.#split.driveParentOf(part);
  }

  onCallback(
    provider: ProviderName,
    jobId: string,
    auth: { signature: string | null; headers?: Headers; requestUrl?: string },
    taskHint?: () => Promise<string | undefined>,
  ): Promise<Job> {
    return this.#callbacks.onCallback(provider, jobId, auth, taskHint);
  }

  fail(job: Job, code: string, reason: string): Promise<Job> {
    return this.#endings.fail(job, code, reason);
  }

  endCancelled(job: Job, at: Date, billedCharacters?: number, reason?: string): Promise<Job> {
    return this.#endings.endCancelled(job, at, billedCharacters, reason);
  }

  /**
   * Cancels a job: no provider task starts after this (every submission looks for the mark first). A job not yet
   * started ends at once; a split job stops starting parts and ends when the parts already running have; a job whose
   * one task is already running is left to finish (it is billed, and its audio kept).
   */
  async cancel(job: Job): Promise<Job> {
    const at = await this.#ctx.deps.jobs.cancel("jobs", job.id, this.#ctx.now());
    const latest = (await this.#ctx.deps.jobs.get(job.id)) ?? job;
    if (latest.parts) return this.#split.drive(latest);
    // A queued job whose call is noted is asking its provider now (the mark was written before this read, so a
    // submitter that notes its call later sees the mark and stops): its task is made, billed and its audio kept.
    if (latest.state === "queued" && !(await this.#ctx.deps.jobs.callOf(latest.id, latest.retries ?? 0)))
      return this.endCancelled(latest, at);
    return latest;
  }

  ended(job: Job): Promise<void> {
    return this.#endings.ended(job);
  }

  /** Drives every pending job whose step is overdue, and fails those past their promise or retention. */
  reconcile(): Promise<Record<string, number>> {
    return this.#reconciler.reconcile();
  }
}
