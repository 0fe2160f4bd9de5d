/**
 * A new job's record: claimed once per idempotency key (a retried request or a re-delivered event answers the job
 * that holds the key), validated by its provider's rules before anything is written, and written with its text.
 */
import { randomUUID } from "node:crypto";
import { InputError } from "../errors.js";
import type { JobContext, JobSteps, NewJob } from "./job-deps.js";
import type { Job, JobOptions } from "./schema.js";

export class JobCreation {
  constructor(
    private readonly ctx: JobContext,
    private readonly steps: JobSteps,
  ) {}

  /** Output keys for an audio key: the subtitles sit beside the audio with the same base name. */
  outputFor(audioKey: string, options: JobOptions): Job["output"] {
    const base = audioKey.replace(/\.[^./]+$/, "");
    return {
      audioKey,
      ...(options.subtitles.includes("srt") ? { srtKey: `${base}.srt` } : {}),
      ...(options.subtitles.includes("vtt") ? { vttKey: `${base}.vtt` } : {}),
    };
  }

  /** Creates and submits a job within its provider's limit, or answers the job that already holds its key. */
  async create(input: NewJob, opts: { submit?: boolean } = {}): Promise<{ job: Job; created: boolean }> {
    const { deps } = this.ctx;
    const provider = this.ctx.provider(input.provider);
    const { characters } = provider.validate(input.text, input.ssml, input.options);
    const { id, existing } = await this.claim(input);
    if (existing) return { job: existing, created: false };
    // Here either this call won the key, or an earlier one won it and crashed before writing the record: adopt it.
    await deps.storage.put(deps.jobs.textKey(id), input.text, { contentType: "text/plain; charset=utf-8" });
    const fresh = this.record(id, input, { state: "queued", ssml: input.ssml, characters });
    await deps.jobs.index(fresh);
    const job = await deps.jobs.create(fresh);
    if (job !== fresh) return { job, created: false };
    // A batch item waits for its batch to hand it a slot; a synchronous provider is submitted through FC's queue.
    if (opts.submit === false) return { job, created: true };
    if (provider.synchronous) {
      await deps.invoker.invokeAsync("submit", { submitJob: job.id });
      return { job, created: true };
    }
    // The text was written a moment ago by this very call: it is passed on, not read back.
    return { job: await this.steps.submit(job, { text: input.text }), created: true };
  }

  /** Records a job that cannot run (bad file, bad options) as failed, so the failure is visible and final. */
  async createFailed(input: Omit<NewJob, "text" | "ssml"> & { reason: string; code: string }): Promise<Job> {
    const { deps } = this.ctx;
    const { id, existing } = await this.claim(input);
    if (existing) return existing;
    const job = this.record(id, input, {
      state: "failed",
      ssml: false,
      characters: 0,
      failure: { code: input.code, reason: input.reason, at: this.ctx.now().toISOString() },
    });
    await deps.jobs.index(job);
    const held = await deps.jobs.create(job);
    if (held !== job) return held;
    await this.steps.ended(job);
    return job;
  }

  /**
   * Claims the job's idempotency key. When an earlier request holds it, that request's job is the answer (waiting a
   * moment for its record, which a concurrent winner may not have written yet), unless the earlier request differed:
   * reusing an idempotency key for another request is refused with 422, as the IETF Idempotency-Key draft and Stripe do.
   */
  async claim(input: Pick<NewJob, "idempotencyKey" | "fingerprint" | "id">): Promise<{ id: string; existing?: Job }> {
    const { deps } = this.ctx;
    const claim = await deps.jobs.claim(
      input.idempotencyKey,
      input.id ?? deps.newId?.() ?? randomUUID(),
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
      const existing = await deps.jobs.get(claim.id);
      if (existing) return { id: claim.id, existing };
      await this.ctx.sleep(25 * 2 ** attempt);
    }
    // The winner crashed before writing its record: this call adopts the id and writes it.
    return { id: claim.id };
  }

  /** A new job's record as `input` describes it, in the state and with the fields given. */
  record(
    id: string,
    input: Pick<
      NewJob,
      "provider" | "idempotencyKey" | "source" | "options" | "audioKey" | "batch" | "owner" | "fingerprint"
    >,
    fields: Pick<Job, "state" | "ssml" | "characters"> & Partial<Job>,
  ): Job {
    const now = this.ctx.now().toISOString();
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
}
