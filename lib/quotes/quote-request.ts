/**
 * `POST /v1/quotes` (and `dryRun: true` on a submission): the body of a job (`POST /v1/jobs`), a book (`POST /v1/books`)
 * or a batch (the event's data: `items` or `itemsFrom`) answered with what it would bill and take. It reads the inputs
 * it names from OSS as the job would, and calls no provider.
 */
import { itemOptionsOf } from "../batches/item-options.js";
import { batchItemsOf } from "../batches/items-file.js";
import { BatchRequestSchema } from "../batches/schema.js";
import { InputError } from "../errors.js";
import { bookRequestAsJob, checkInputKey, type IntakeContext, jobFromRequest, readInputText } from "../jobs/intake.js";
import type { NewJob } from "../jobs/job-deps.js";
import { parseInput } from "../validation.js";
import { type QuoteContext, quoteBatch, quoteJob } from "./quote.js";

export interface QuoteRequestContext extends QuoteContext {
  readonly intake: IntakeContext;
  /** Items of a batch running at once (BATCH_CONCURRENCY). */
  readonly batchConcurrency: number;
}

/** The quote context of a deployment: its price table, budget and concurrencies, and where inputs are read from. */
export function quoteContextOf(
  config: {
    readonly PRICES?: QuoteContext["prices"];
    readonly PROVIDER_BUDGET: QuoteContext["budget"];
    readonly JOBS_PART_CONCURRENCY: number;
    readonly BATCH_CONCURRENCY: number;
  },
  intake: IntakeContext,
): QuoteRequestContext {
  return {
    service: intake.service,
    prices: config.PRICES,
    budget: config.PROVIDER_BUDGET,
    partConcurrency: config.JOBS_PART_CONCURRENCY,
    batchConcurrency: config.BATCH_CONCURRENCY,
    intake,
  };
}

const BOOK_FIELDS = ["epub", "markdown", "chapters"] as const;

/** Which kind of body this is: a batch has items, a book its book at the top; anything else is a job. */
export function kindOf(body: unknown): "job" | "book" | "batch" {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return "job";
  const b = body as Record<string, unknown>;
  if ("items" in b || "itemsFrom" in b) return "batch";
  return "book" in b || BOOK_FIELDS.some((f) => f in b) ? "book" : "job";
}

export async function quoteRequest(
  body: unknown,
  owner: string,
  ctx: QuoteRequestContext,
): Promise<Record<string, unknown>> {
  const kind = kindOf(body);
  if (kind === "batch") return quoteBatchRequest(body, ctx);
  // A book's fields at the top (POST /v1/books) or already under `book` (POST /v1/jobs): the job's shape either way.
  const asJob = kind === "book" && !("book" in (body as object)) ? bookRequestAsJob(body) : body;
  const job = await jobFromRequest(withoutDryRun(asJob), null, owner, ctx.intake);
  return { kind, ...quoteJob(job, ctx) };
}

/** A submission's body without `dryRun`, which only says "quote this". */
export function withoutDryRun(body: unknown): unknown {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return body;
  const { dryRun: _d, ...rest } = body as Record<string, unknown>;
  return rest;
}

async function quoteBatchRequest(body: unknown, ctx: QuoteRequestContext): Promise<Record<string, unknown>> {
  const req = parseInput(BatchRequestSchema, withoutDryRun(body));
  const { intake } = ctx;
  const items = await batchItemsOf(intake.storage, req, { inputPrefix: intake.inputPrefix, field: "itemsFrom.key" });
  const quoted = [];
  for (const item of items) {
    try {
      const { options, provider } = itemOptionsOf(item, req.defaults, intake.defaultProvider);
      const field = `items[${item.id}].input.key`;
      const text = item.input
        ? (await readInputText(intake.storage, checkInputKey(item.input.key, intake.inputPrefix, field), field)).text
        : (item.text ?? item.ssml);
      if (text === undefined) throw new InputError(`items[${item.id}]`, "needs one of text, ssml or input");
      const job: NewJob = {
        provider,
        text,
        ssml: item.ssml !== undefined,
        options,
        audioKey: "quote",
        idempotencyKey: "quote",
        source: { kind: "inline" },
      };
      quoted.push({ id: item.id, quote: quoteJob(job, ctx) });
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      quoted.push({ id: item.id, error: { field: error.field, message: error.message } });
    }
  }
  return quoteBatch(quoted, ctx.batchConcurrency);
}
