/**
 * A job's provider task: submitted once per attempt however many callers race (elected in OSS), never made twice for
 * one attempt (billed twice), adopted once, and followed until the provider says it ended.
 */
import type { Lease } from "../budget/account-budget.js";
import { codeOf, InputError, reasonOf, UpstreamError } from "../errors.js";
import type { JobContext, JobSteps } from "./job-deps.js";
import type { JobProvider } from "./providers.js";
import { type Job, transition } from "./schema.js";

/** New provider tasks for a job whose task failed transiently, before the job fails. */
const MAX_TASK_RETRIES = 2;

export class Submission {
  constructor(
    private readonly ctx: JobContext,
    private readonly steps: JobSteps,
  ) {}

  /**
   * Submits a queued job. The call is noted before the provider is asked and its task as soon as it answers, so a
   * caller that died or lost an answer leaves a trace. `force` (reconcile, after a grace period) re-drives a job whose
   * elected submitter died: it adopts a task noted for the attempt; calls the provider when the dead submitter never
   * did; and when it did but no task was noted (a task may exist), waits for that task's callback, which adopts it,
   * until the provider's deadline has passed, then submits a new attempt. A refusal that is certain (the provider
   * answered) is forgotten so the next run retries at once; a terminal one fails the job. `text`: the job's text when
   * the caller holds it (it has just stored it); otherwise it is read from OSS.
   */
  async submit(job: Job, opts: { force?: boolean; text?: string; resume?: boolean } = {}): Promise<Job> {
    const { deps } = this.ctx;
    if (job.state !== "queued") return job;
    const attempt = job.retries ?? 0;
    if (!(await deps.jobs.elect(job.id, `submit-${attempt}`, this.ctx.now())) && !opts.force && !opts.resume)
      return job;
    const log = deps.log.child({ jobId: job.id });
    if (opts.force) {
      const noted = await deps.jobs.taskOf(job.id, attempt);
      if (noted) return this.adopt(job, noted, { force: true });
      const called = await deps.jobs.callOf(job.id, attempt);
      if (called) {
        if (this.ctx.now().getTime() - called.getTime() < this.ctx.provider(job.provider).deadline.ms) return job;
        log.warn("an earlier submission's outcome is unknown and its deadline has passed; submitting a new attempt", {
          attempt,
        });
        // A forced re-drive takes over: a reconcile run that died after this election must not hold the job for
        // ever (the simulation's seed 567). The new attempt's own notes keep it to one provider task.
        await deps.jobs.elect(job.id, `retry-${attempt + 1}`, this.ctx.now());
        const next = { ...job, retries: attempt + 1, updatedAt: this.ctx.now().toISOString() };
        await deps.jobs.put(next);
        return this.submit(next, { force: true, ...(opts.text === undefined ? {} : { text: opts.text }) });
      }
    }
    const text = opts.text ?? (await deps.storage.get(deps.jobs.textKey(job.id)))?.toString("utf8");
    if (text === undefined) return this.steps.fail(job, "InputMissing", "the job's text is missing from OSS");
    if (await this.ctx.cancelledAt(job)) return this.#cancelled(job);
    // The account's budget first: no provider call starts past it. A submitter that waited its time in line hands its
    // turn to FC's queue (`resume`: it was elected; a duplicate delivery is stopped by the call's note below).
    const lease = await this.ctx.leaseFor(job);
    if (!lease) {
      log.info("waiting for the account's provider budget; handed to FC's queue", { attempt });
      await deps.invoker.invokeAsync("submit", { submitJob: job.id, resume: true });
      return job;
    }
    try {
      return await this.#call(job, text, attempt, lease);
    } finally {
      await lease.give().catch((error: unknown) => log.warn("budget lease not given back; it lapses", { error }));
    }
  }

  /** A job (or part) cancelled before its task started: it ends, billed nothing; a part's parent is told. */
  async #cancelled(job: Job): Promise<Job> {
    const at = (await this.ctx.cancelledAt(job)) ?? this.ctx.now();
    const ended = await this.steps.endCancelled(job, at);
    if (job.parent) await this.steps.driveParentOf(job);
    return ended;
  }

  /** Notes the call, calls the provider once, and adopts its task (or settles what its refusal means). */
  async #call(job: Job, text: string, attempt: number, lease: Lease): Promise<Job> {
    const { deps } = this.ctx;
    const log = deps.log.child({ jobId: job.id });
    if (!(await deps.jobs.noteCall(job.id, attempt, this.ctx.now()))) return job;
    // Looked for again with the call noted, just before the provider is asked: a cancel answered before this read
    // stops it, however long the wait for the budget was; one answered after finds the call noted, and counts it.
    if (await this.ctx.cancelledAt(job)) {
      await lease.give();
      return this.#cancelled(job);
    }
    // The key's caps, counted just before the task starts: tasks checked at the same moment may pass a cap together,
    // so the overshoot is at most the tasks in flight.
    const overCap = await this.ctx.chargeCaps(
      job,
      this.ctx.provider(job.provider).validate(text, job.ssml, job.options).characters,
    );
    if (overCap) {
      await lease.give();
      await deps.jobs.forgetCall(job.id, attempt).catch(() => undefined);
      const failed = await this.steps.fail(job, overCap.code, overCap.message);
      if (job.parent) await this.steps.driveParentOf(job);
      return failed;
    }
    let taskId: string;
    try {
      try {
        taskId = await this.ctx.provider(job.provider).submit(job, text, this.ctx.callbackUrl(job));
      } finally {
        // Given back as soon as the provider has answered: what follows (adopting the task, a part's end driving its
        // parent, which may submit the next part) holds no provider task, and must not hold the lease while it waits
        // for another one.
        await lease.give().catch(() => undefined);
      }
    } catch (error) {
      if (error instanceof UpstreamError && !answeredBy(error)) {
        // The request may have reached the provider: a task may exist. Its callback adopts it; reconcile waits for it.
        log.warn("submission's outcome unknown; its callback or reconcile will settle it", { error });
        return job;
      }
      // The provider answered: no task was made. Forget the call so the next run may call again.
      await deps.jobs.forgetCall(job.id, attempt).catch(() => undefined);
      if (error instanceof UpstreamError && error.retryable) {
        log.warn("submission refused for now; reconcile will retry", { error });
        return job;
      }
      if (error instanceof UpstreamError || error instanceof InputError)
        return this.steps.fail(job, codeOf(error), reasonOf(error));
      throw error;
    }
    const held = await deps.jobs.noteTask(job.id, attempt, taskId);
    log.info("job submitted", { taskId: held, characters: job.characters });
    return this.adopt(job, held);
  }

  /**
   * Records `taskId` as the job's task and looks at it once. A fast provider can call back before the record says
   * "submitted" (the callback then finds nothing to do): the look closes that gap. It is only a look: a transient
   * failure of it is logged, not answered as a failure of the submission.
   */
  async adopt(job: Job, taskId: string, opts: { force?: boolean } = {}): Promise<Job> {
    const { deps } = this.ctx;
    // Once per attempt: the submitter and a callback (or reconcile) may both get here, and the record is written by
    // one of them only, so no stale "submitted" ever lands on a record that has moved on (the simulation's seed 5806).
    const attempt = job.retries ?? 0;
    if (!(await deps.jobs.elect(job.id, `adopt-${attempt}`, this.ctx.now())) && !opts.force) {
      const now = (await deps.jobs.get(job.id)) ?? job;
      return now.state === "submitted" ? this.poll(now, { force: false }) : now;
    }
    const latest = (await deps.jobs.get(job.id)) ?? job;
    const submitted = transition(
      latest,
      "submitted",
      { task: { id: taskId, submittedAt: this.ctx.now().toISOString() } },
      this.ctx.now(),
    );
    if (!submitted) return latest;
    await deps.jobs.put(submitted);
    try {
      return await this.poll(submitted, { force: false });
    } catch (error) {
      if (!(error instanceof UpstreamError && error.retryable)) throw error;
      deps.log.warn("status look after submission failed; the callback or reconcile will follow the job", {
        jobId: job.id,
        error,
      });
      return submitted;
    }
  }

  /**
   * Asks the provider about a submitted job. On success, exactly one caller (elected in OSS) records the result and
   * invokes `store`; `force` (from reconcile, after a grace period) re-drives a job whose elected caller crashed.
   */
  async poll(job: Job, opts: { force: boolean }): Promise<Job> {
    const { deps } = this.ctx;
    if (job.state !== "submitted" || !job.task) return job;
    const log = deps.log.child({ jobId: job.id, taskId: job.task.id });
    let status: Awaited<ReturnType<JobProvider["status"]>>;
    try {
      status = await this.ctx.provider(job.provider).status(job.task.id);
    } catch (error) {
      if (!(error instanceof UpstreamError)) throw error;
      // The task itself failed (the answer names it) with a transient code: polling it again cannot help, a new task can.
      const taskFailed = error.details.taskId !== undefined;
      if (taskFailed && error.retryable && (job.retries ?? 0) < MAX_TASK_RETRIES)
        return this.#requeue(job, error, opts);
      if (taskFailed || !error.retryable) return this.steps.fail(job, codeOf(error), reasonOf(error));
      throw error;
    }
    if (status.state !== "success") return job;
    const elected = await deps.jobs.elect(job.id, "synthesized", this.ctx.now());
    if (!elected && !opts.force) return job;
    const next = transition(
      job,
      "synthesized",
      {
        task: {
          ...job.task,
          ...(status.audioAddress ? { audioAddress: status.audioAddress } : {}),
          sentences: status.sentences,
          finishedAt: this.ctx.now().toISOString(),
        },
      },
      this.ctx.now(),
    );
    if (!next) return job;
    if (elected) await this.synthesized(next);
    await deps.jobs.put(next);
    await deps.invoker.invokeAsync("store", { jobId: job.id });
    log.info("job synthesized; store invoked", { sentences: status.sentences.length });
    if (elected && next.parent) await this.#partSynthesized(next);
    return next;
  }

  /**
   * The task failed transiently: a new task for a new attempt. The callback and the look after submission may both
   * see the failure, and one of them requeues; `force` (reconcile) recovers a requeue whose elected caller crashed.
   */
  async #requeue(job: Job, error: UpstreamError, opts: { force: boolean }): Promise<Job> {
    const { deps } = this.ctx;
    if (!(await deps.jobs.elect(job.id, `retry-${(job.retries ?? 0) + 1}`, this.ctx.now())) && !opts.force) return job;
    const requeued = transition(job, "queued", { task: undefined, retries: (job.retries ?? 0) + 1 }, this.ctx.now());
    if (!requeued) return job;
    await deps.jobs.put(requeued);
    deps.log.warn("provider task failed transiently; resubmitting", {
      jobId: job.id,
      code: error.providerCode,
      retry: requeued.retries,
    });
    return this.submit(requeued);
  }

  /**
   * A job's synthesis ended: `onSynthesized` is told before the record is written, so what waits on the slot (a
   * batch's next item) starts while the audio is copied. Only the elected caller tells it: a forced re-drive
   * (reconcile) cannot know whether a crashed one did, and a slot is never handed on twice. A failure is logged, not
   * thrown: reconcile refills a batch slot left behind.
   */
  async synthesized(job: Job): Promise<void> {
    try {
      await this.ctx.deps.onSynthesized?.(job);
    } catch (error) {
      this.ctx.deps.log.warn("could not hand on the job's slot; reconcile will", { jobId: job.id, error });
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
      await this.steps.driveParentOf(part);
    } catch (error) {
      this.ctx.deps.log.warn("could not drive the parent on its part's synthesis; the part's end will", {
        jobId: part.id,
        parentId: part.parent!.id,
        error,
      });
    }
  }
}

/**
 * Whether a provider error is the provider's own answer (its request arrived, and no task was made), rather than a
 * network failure after which a task may exist: a connection reset or a timeout says nothing about the far end.
 */
function answeredBy(error: UpstreamError): boolean {
  return !/^(E[A-Z]+|NetworkError|RequestTimeout(Error)?|Timeout|UND_ERR\w*|SocketError|AbortError)$/.test(
    error.providerCode,
  );
}
