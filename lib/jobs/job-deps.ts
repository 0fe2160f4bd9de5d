/**
 * What the job machine's roles share: their dependencies (`JobServiceDeps`), a new job as its callers describe it
 * (`NewJob`), and `JobContext`, the helpers every role uses (the clock, the provider by name, a part's limit, a job's
 * callback URL). The roles call one another through `JobSteps`, which `JobService` implements.
 */

import type { PriceTable } from "../billing/prices.js";
import type { BookCover } from "../books/book.js";
import { type AccountBudget, type Lease, NO_LEASE } from "../budget/account-budget.js";
import { capRefusal } from "../caps/cap-check.js";
import type { Caps } from "../caps/caps.js";
import type { UsageLedger } from "../caps/usage.js";
import type { AppError } from "../errors.js";
import { InputError } from "../errors.js";
import type { Invoker } from "../invoke.js";
import type { Logger } from "../log.js";
import { abortableSleep } from "../retry.js";
import type { Bucket } from "../storage/bucket.js";
import { callbackUrl } from "./callback-signature.js";
import type { JobProvider, ProviderName } from "./providers.js";
import type { JobRecords } from "./records.js";
import type { BookSettings, Job, JobOptions } from "./schema.js";

export interface JobServiceDeps {
  readonly jobs: JobRecords;
  readonly storage: Bucket;
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
  /** What a job with `label: {audible: true}` says first (AIGC_NOTICE_TEXT). */
  readonly aigcNotice?: string;
  /** Spending caps per key: a task that would pass its key's cap is not started (none: no caps). */
  readonly caps?: {
    readonly of: (owner: string) => Caps | undefined;
    readonly ledger: UsageLedger;
    readonly prices?: PriceTable;
  };
  /** The account's provider budget: a submission takes a lease before its provider call (none: no budget). */
  readonly budget?: AccountBudget;
  /**
   * How long a submission waits in line for a lease before handing its turn to FC's queue (`submit` then calls it
   * again, its place kept): less than the calling function's timeout.
   */
  readonly budgetWaitMs?: number;
}

/** The audible notice a job says first unless the deployment words it otherwise. */
export const DEFAULT_AIGC_NOTICE = "本音频由人工智能生成。";

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
  /** A book's chapters, in order: their texts joined are `text`. */
  readonly chapters?: ReadonlyArray<{ readonly title: string; readonly text: string }>;
  /** A book's tags and profile: its stitched narration is made into an audiobook (lib/jobs/render-audiobook.ts). */
  readonly book?: BookSettings;
  /** A book's cover image: kept under the jobs prefix when the job is made, for the M4B. */
  readonly cover?: BookCover;
}

/** The steps the roles take on one another's behalf (JobService implements them by handing each to its role). */
export interface JobSteps {
  submit(job: Job, opts?: { force?: boolean; text?: string; resume?: boolean }): Promise<Job>;
  pollTask(job: Job, opts: { force: boolean }): Promise<Job>;
  driveParent(parent: Job, opts?: { force?: boolean }): Promise<Job>;
  /** A part's synthesis or end moves its parent along (a failure is the caller's to log). */
  driveParentOf(part: Job): Promise<void>;
  fail(job: Job, code: string, reason: string): Promise<Job>;
  /** Ends a cancelled job that has nothing left running: failed with code `Cancelled`, saying what was billed. */
  endCancelled(job: Job, at: Date, billedCharacters?: number, reason?: string): Promise<Job>;
  ended(job: Job): Promise<void>;
  /** A job's synthesis ended: `onSynthesized` is told (once, by the elected caller); a failure is logged. */
  synthesized(job: Job): Promise<void>;
}

export class JobContext {
  constructor(readonly deps: JobServiceDeps) {}

  now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  provider(name: ProviderName): JobProvider {
    const provider = this.deps.providers[name];
    if (!provider)
      throw new InputError("provider", `"${name}" is not configured on this deployment`, {
        code: "UnsupportedProvider",
      });
    return provider;
  }

  /** The most characters one provider task of a job gets: the provider's limit, or less when configured. */
  partLimit(name: ProviderName): number {
    return Math.min(this.provider(name).limit, this.deps.partChars ?? Number.POSITIVE_INFINITY);
  }

  /** Where the provider calls back for a job: only a provider that calls back, on a deployment with a public URL. */
  callbackUrl(job: { id: string; provider: ProviderName }): string | undefined {
    return this.deps.callbackBaseUrl && this.deps.providers[job.provider]?.callsBack
      ? callbackUrl(this.deps.callbackBaseUrl, this.deps.callbackSecret, job.id, job.provider)
      : undefined;
  }

  /** How long a step may sit before reconcile re-drives it. */
  get staleAfterMs(): number {
    return this.deps.staleAfterMs ?? 2 * 60_000;
  }

  /**
   * A lease from the account's budget for a job's provider call, waiting in line up to `budgetWaitMs`: the job's
   * tenant is its key's owner (the operator's for uploads and batches), its group its batch, else its parent, else
   * itself. Undefined when none came in time.
   */
  async leaseFor(job: Job): Promise<Lease | undefined> {
    const budget = this.deps.budget;
    const provider = this.provider(job.provider);
    if (!budget) return NO_LEASE(provider.api);
    return budget.take(
      {
        api: provider.api,
        holder: `${job.id}.${job.retries ?? 0}`,
        tenant: job.owner ?? "operator",
        group: job.batch?.id ?? job.parent?.id ?? job.id,
        cls: "background",
        ttlMs: provider.callMs,
      },
      { waitMs: this.deps.budgetWaitMs ?? 20_000 },
    );
  }

  /**
   * Counts a task of `characters` against its job's key's caps, just before it starts: the refusal when it would pass
   * one (nothing is counted then), else undefined (it is counted, once per job and attempt).
   */
  async chargeCaps(job: Job, characters: number): Promise<AppError | undefined> {
    const caps = this.deps.caps;
    const limits = job.owner ? caps?.of(job.owner) : undefined;
    if (!caps || !job.owner || !limits) return undefined;
    const now = this.now();
    const spent = await caps.ledger.spent(job.owner, now);
    const refusal = capRefusal(limits, spent, { provider: job.provider, characters }, caps.prices);
    if (refusal) return refusal;
    await caps.ledger.record(
      job.owner,
      { jobId: job.id, attempt: job.retries ?? 0, provider: job.provider, characters },
      now,
    );
    return undefined;
  }

  /** When the job, the job it is a part of, or its batch was cancelled; undefined when none was. */
  async cancelledAt(job: Pick<Job, "id" | "parent" | "batch">): Promise<Date | undefined> {
    const { jobs } = this.deps;
    const found = await Promise.all([
      jobs.cancelledAt("jobs", job.id),
      job.parent ? jobs.cancelledAt("jobs", job.parent.id) : undefined,
      job.batch || job.parent?.batchId ? jobs.cancelledAt("batches", job.batch?.id ?? job.parent!.batchId!) : undefined,
    ]);
    return found.find((d) => d !== undefined);
  }

  /** A short wait (the simulator runs waits on its own clock). */
  sleep(ms: number): Promise<void> {
    return (this.deps.sleep ?? abortableSleep)(ms);
  }
}
