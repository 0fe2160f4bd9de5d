/**
 * The account's provider budget, as s.yaml configures it (`PROVIDER_BUDGET`, JSON): per API, the tasks at once and
 * calls a second every function instance together may start, and the share of each kept for interactive speech.
 * An API left out is not budgeted (its calls take no lease).
 *
 * @example {"minimax":{"concurrency":20,"perSecond":10,"interactive":2,"interactivePerSecond":2}}
 */
import * as z from "../zod.js";
import { BudgetApiSchema } from "./apis.js";

const count = (what: string) => z.int(`a whole number of ${what}`).check(z.gte(0, "at least 0"));

export const ApiBudgetSchema = z
  .strictObject({
    /** Tasks running at once across the account (the provider's concurrency quota, or less). */
    concurrency: z.optional(count("tasks").check(z.gte(1, "at least 1"))),
    /** Calls started per clock second across the account (the provider's rate quota, or less). */
    perSecond: z.optional(count("calls a second").check(z.gte(1, "at least 1"))),
    /** Of `concurrency`, the tasks only interactive speech may hold: batches and jobs never take the last ones. */
    interactive: z._default(count("tasks"), 0),
    /** Of `perSecond`, the calls a second only interactive speech may start. */
    interactivePerSecond: z._default(count("calls a second"), 0),
  })
  .check(
    z.refine((b) => b.concurrency === undefined || b.interactive < b.concurrency, {
      message: "interactive must leave batches and jobs at least one task (less than concurrency)",
      path: ["interactive"],
    }),
    z.refine((b) => b.perSecond === undefined || b.interactivePerSecond < b.perSecond, {
      message: "interactivePerSecond must leave batches and jobs at least one call a second (less than perSecond)",
      path: ["interactivePerSecond"],
    }),
  );
export type ApiBudget = z.infer<typeof ApiBudgetSchema>;

export const ProviderBudgetSchema = z.partialRecord(BudgetApiSchema, ApiBudgetSchema);
export type ProviderBudget = z.infer<typeof ProviderBudgetSchema>;
