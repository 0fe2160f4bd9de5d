/** Everything the job functions share, built once per instance from the configuration. */

import { Ffmpeg } from "./audio/ffmpeg.js";
import { BatchService } from "./batches/service.js";
import { AccountBudget } from "./budget/account-budget.js";
import { capsByOwner } from "./caps/caps.js";
import { UsageLedger } from "./caps/usage.js";
import type { Clients } from "./clients.js";
import type { Config } from "./config.js";
import { ConfigError } from "./errors.js";
import type { Invoker } from "./invoke.js";
import type { IntakeContext } from "./jobs/intake.js";
import { iceProvider, minimaxProvider, nlsProvider } from "./jobs/providers.js";
import { JobRecords } from "./jobs/records.js";
import { JobService } from "./jobs/service.js";
import { type StoreDeps, storeOutputs } from "./jobs/store-audio.js";
import type { Logger } from "./log.js";
import { isPrivateOrPublicAddress } from "./net/public-address.js";

export interface JobRuntime {
  readonly config: Config;
  readonly batches: BatchService;
  readonly clients: Clients;
  readonly jobs: JobRecords;
  readonly service: JobService;
  /** The account's provider budget (reconcile reclaims what dead holders left). */
  readonly budget: AccountBudget;
  readonly log: Logger;
  storeOutputs(jobId: string): Promise<"done" | "skipped">;
}

/** Where jobs from requests, uploads and batches read their inputs and put their outputs, as the intake needs it. */
export function intakeOf(rt: Pick<JobRuntime, "config" | "clients" | "service">): IntakeContext {
  return {
    storage: rt.clients.storage,
    service: rt.service,
    inputPrefix: rt.config.OSS_INPUT_PREFIX,
    outputPrefix: rt.config.OSS_OUTPUT_PREFIX,
    defaultProvider: rt.config.JOBS_DEFAULT_PROVIDER,
  };
}

/**
 * How long a job's submission waits in line for the budget in a function: only the functions FC's queue runs
 * (`submit`, `store`) wait, up to BUDGET_WAIT_SECONDS; an HTTP request (`speech`, `callback`) or the timer's sweep
 * (`reconcile`) hands its turn to FC's queue at once, so no caller waits on the budget (a POST /v1/jobs whose parts
 * each waited 20 s once hung past the client's timeout).
 */
export function budgetWaitMs(functionName: string | undefined, config: Config): number {
  return functionName === "submit" || functionName === "store" ? config.BUDGET_WAIT_SECONDS * 1000 : 0;
}

export function createJobRuntime(
  config: Config,
  clients: Clients,
  invoker: Invoker,
  log: Logger,
  overrides: Partial<Pick<StoreDeps, "partSize">> & { readonly functionName?: string } = {},
): JobRuntime {
  if (!config.CALLBACK_SECRET)
    throw new ConfigError(["CALLBACK_SECRET: missing; expected at least 32 characters (HMAC key for callback URLs)"]);
  const jobs = new JobRecords(clients.storage, config.JOBS_PREFIX);
  const budget = new AccountBudget({
    bucket: clients.storage,
    root: `${config.JOBS_PREFIX}budget/`,
    limits: config.PROVIDER_BUDGET,
  });
  let batches: BatchService | undefined;
  const service = new JobService({
    onSynthesized: async (job) => {
      if (job.batch) await batches?.itemSynthesized(job);
    },
    onEnded: async (job) => {
      if (job.batch) await batches?.itemEnded(job);
    },
    jobs,
    storage: clients.storage,
    providers: {
      nls: nlsProvider(clients.longText),
      ice: iceProvider(clients.ice, clients.storage.bucket, config.ICE_CALLBACK_AUTH_KEY),
      minimax: clients.minimax ? minimaxProvider(clients.minimax) : undefined,
    },
    invoker,
    log,
    callbackSecret: config.CALLBACK_SECRET,
    callbackBaseUrl: config.CALLBACK_BASE_URL,
    outputPrefix: config.OSS_OUTPUT_PREFIX,
    staleAfterMs: config.RECONCILE_STALE_SECONDS * 1000,
    partsPrefix: `${config.JOBS_PREFIX}parts/`,
    partConcurrency: config.JOBS_PART_CONCURRENCY,
    aigcNotice: config.AIGC_NOTICE_TEXT,
    budget,
    caps: {
      of: capsByOwner(config.TTS_API_KEY_CAPS),
      ledger: new UsageLedger(clients.storage, `${config.JOBS_PREFIX}usage/`),
      ...(config.PRICES ? { prices: config.PRICES } : {}),
    },
    budgetWaitMs: budgetWaitMs(overrides.functionName, config),
    ...(config.JOBS_PART_CHARS ? { partChars: config.JOBS_PART_CHARS } : {}),
  });
  batches = new BatchService({
    jobs,
    service,
    storage: clients.storage,
    invoker,
    log,
    jobsPrefix: config.JOBS_PREFIX,
    outputPrefix: config.OSS_OUTPUT_PREFIX,
    inputPrefix: config.OSS_INPUT_PREFIX,
    defaultProvider: config.JOBS_DEFAULT_PROVIDER,
    concurrency: config.BATCH_CONCURRENCY,
    secret: config.CALLBACK_SECRET,
    staleAfterMs: config.RECONCILE_STALE_SECONDS * 1000,
    ...(config.WEBHOOK_ALLOW_PRIVATE ? { webhookAddresses: isPrivateOrPublicAddress } : {}),
  });
  const ffmpeg = new Ffmpeg({ path: config.FFMPEG_PATH });
  return {
    config,
    budget,
    batches,
    clients,
    jobs,
    service,
    log,
    storeOutputs: (jobId) =>
      storeOutputs(jobId, {
        jobs,
        service,
        storage: clients.storage,
        log,
        audioHosts: config.NLS_AUDIO_HOSTS,
        aigcProducer: config.AIGC_PROVIDER_NAME,
        ffmpeg,
        renderConcurrency: config.BOOK_RENDER_CONCURRENCY,
        ...(overrides.partSize === undefined ? {} : { partSize: overrides.partSize }),
      }),
  };
}
