/**
 * A quote: what a job, a book or a batch will bill and take, without calling any provider. The characters are the
 * ones the job would record (the same planning and each provider's own counting, lib/text), so a quote equals the
 * finished job's `characters`. The time is an estimate: the tasks run in waves as wide as the job's part concurrency
 * and the account's budget allow, each at the provider's pace.
 */

import { type PriceTable, priceOf } from "../billing/prices.js";
import type { ProviderBudget } from "../budget/schema.js";
import type { NewJob } from "../jobs/job-deps.js";
import type { JobProvider } from "../jobs/providers.js";
import type { JobService } from "../jobs/service.js";

export interface JobQuote {
  readonly provider: string;
  /** Characters billed, as the provider counts them. */
  readonly characters: number;
  /** Provider tasks it makes (1 unless it is split into parts), and each one's characters. */
  readonly tasks: number;
  readonly taskCharacters: readonly number[];
  readonly price?: { readonly amount: number; readonly currency: string };
  /** The estimated synthesis time once started, in seconds. */
  readonly estimatedSeconds: number;
}

export interface QuoteContext {
  readonly service: JobService;
  readonly prices?: PriceTable;
  readonly budget: ProviderBudget;
  /** Parts of one job synthesized at once (JOBS_PART_CONCURRENCY). */
  readonly partConcurrency: number;
}

export function quoteJob(input: NewJob, ctx: QuoteContext): JobQuote {
  const provider = ctx.service.providerOf(input.provider);
  const taskCharacters = ctx.service.planCharacters(input);
  const characters = taskCharacters.reduce((a, b) => a + b, 0);
  const price = priceOf(ctx.prices, input.provider, characters);
  return {
    provider: input.provider,
    characters,
    tasks: taskCharacters.length,
    taskCharacters,
    ...(price ? { price } : {}),
    estimatedSeconds: estimateSeconds(
      taskCharacters,
      provider,
      ctx,
      taskCharacters.length > 1 ? ctx.partConcurrency : 1,
    ),
  };
}

/**
 * Waves of `width` tasks (no wider than the account's concurrency for the provider's API), each as long as its
 * longest task at the provider's pace, and no faster than the API's calls a second allow.
 */
export function estimateSeconds(
  taskCharacters: readonly number[],
  provider: Pick<JobProvider, "api" | "paceMsPerCharacter">,
  ctx: Pick<QuoteContext, "budget">,
  width: number,
): number {
  const limits = ctx.budget[provider.api];
  const wide = Math.max(1, Math.min(width, limits?.concurrency ?? width));
  let ms = 0;
  for (let i = 0; i < taskCharacters.length; i += wide)
    ms += Math.max(...taskCharacters.slice(i, i + wide)) * provider.paceMsPerCharacter;
  const byRate = limits?.perSecond ? (taskCharacters.length / limits.perSecond) * 1000 : 0;
  return Math.ceil(Math.max(ms, byRate) / 1000);
}

/** Sums item quotes into a batch's, the items running `concurrency` at a time. */
export function quoteBatch(
  items: ReadonlyArray<{ id: string; quote?: JobQuote; error?: { field: string; message: string } }>,
  concurrency: number,
): Record<string, unknown> {
  const quoted = items.flatMap((i) => (i.quote ? [i.quote] : []));
  const characters = quoted.reduce((a, q) => a + q.characters, 0);
  const currencies = new Set(quoted.flatMap((q) => (q.price ? [q.price.currency] : [])));
  const priced = quoted.every((q) => q.price) && currencies.size === 1;
  // Items run `concurrency` at a time: the batch takes about the sum of its items' times over that width.
  const seconds = Math.ceil(quoted.reduce((a, q) => a + q.estimatedSeconds, 0) / Math.max(1, concurrency));
  return {
    kind: "batch",
    characters,
    tasks: quoted.reduce((a, q) => a + q.tasks, 0),
    ...(priced && quoted.length > 0
      ? {
          price: {
            amount: Math.round(quoted.reduce((a, q) => a + q.price!.amount, 0) * 10_000) / 10_000,
            currency: [...currencies][0],
          },
        }
      : {}),
    estimatedSeconds: seconds,
    items: items.map((i) => ({ id: i.id, ...(i.quote ?? {}), ...(i.error ? { error: i.error } : {}) })),
  };
}
