/**
 * A batch item's options: the batch's defaults with the item's overrides over them, checked as a job's options are
 * (errors name `items[<id>].overrides`), and the provider they choose. The batch's start and its quote both read an
 * item's options here.
 */
import { type JobOptions, JobOptionsSchema } from "../jobs/schema.js";
import type { ProviderName } from "../provider-registry.js";
import { parseInput } from "../validation.js";
import type { BatchItem } from "./schema.js";

export function itemOptionsOf(
  item: Pick<BatchItem, "id" | "overrides">,
  defaults: Record<string, unknown> | undefined,
  defaultProvider: ProviderName,
): { options: JobOptions; provider: ProviderName } {
  const options = parseInput(JobOptionsSchema, { ...defaults, ...item.overrides }, `items[${item.id}].overrides`);
  return { options, provider: (options.provider ?? defaultProvider) as ProviderName };
}
