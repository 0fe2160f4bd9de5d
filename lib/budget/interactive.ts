/**
 * A stream's lease: interactive speech asks once and never waits in line. Past the whole budget it is refused at
 * once with 429 and `Retry-After` (the client retries; no provider call was made), never a provider's 40000005.
 */
import { randomUUID } from "node:crypto";
import { AppError } from "../errors.js";
import type { StreamProviderName } from "../provider-registry.js";
import type { AccountBudget, Lease } from "./account-budget.js";
import type { BudgetApi } from "./apis.js";

/** The quota a stream of each provider counts against. */
export const STREAM_API: Record<StreamProviderName, BudgetApi> = {
  nls: "nls-ws",
  cosyvoice: "cosyvoice",
  minimax: "minimax",
};

/** How long a stream may hold its lease before it lapses: the stream function's timeout. */
export const STREAM_LEASE_MS = 300_000;

export async function interactiveLease(
  budget: AccountBudget,
  call: { provider: StreamProviderName; tenant: string; weight?: number },
): Promise<Lease> {
  const api = STREAM_API[call.provider];
  const got = await budget.tryTake({
    api,
    holder: randomUUID(),
    tenant: call.tenant,
    group: call.tenant,
    cls: "interactive",
    ttlMs: STREAM_LEASE_MS,
    weight: call.weight ?? 1,
  });
  if (!("refused" in got)) return got;
  const retryAfterSeconds = Math.max(1, Math.ceil(got.retryAfterMs / 1000));
  throw new AppError(`the account's ${api} budget is in use; retry in ${retryAfterSeconds} s`, {
    statusCode: 429,
    code: "ProviderBudgetSpent",
    details: { api, retryAfterSeconds },
  });
}
