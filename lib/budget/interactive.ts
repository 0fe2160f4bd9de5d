/**
 * A stream's lease: interactive speech never waits in line behind batches. It asks again for a moment (a stream that
 * has just ended may not have given its lease back yet when the same listener's next request comes), then, past the
 * whole budget, is refused with 429 and `Retry-After` (the client retries; no provider call was made), never a
 * provider's 40000005.
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

/**
 * How long a stream may hold its lease before it lapses: a request's stream ends within 300 s (its text is at most
 * STREAM_MAX_CHARS, and a client that stops reading is closed after 30 s); a live stream, which may run for the stream
 * function's hour, renews its lease every half term. A holder that dies stops counting within one term.
 */
export const STREAM_LEASE_MS = 300_000;

/** How long a stream asks again before it is refused, and how often. */
export const STREAM_LEASE_PATIENCE = { ms: 500, everyMs: 25 } as const;

export async function interactiveLease(
  budget: AccountBudget,
  call: { provider: StreamProviderName; tenant: string; weight?: number },
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<Lease> {
  const api = STREAM_API[call.provider];
  const req = {
    api,
    holder: randomUUID(),
    tenant: call.tenant,
    group: call.tenant,
    cls: "interactive" as const,
    ttlMs: STREAM_LEASE_MS,
    weight: call.weight ?? 1,
  };
  let got = await budget.tryTake(req);
  for (let waited = 0; "refused" in got && waited < STREAM_LEASE_PATIENCE.ms; waited += STREAM_LEASE_PATIENCE.everyMs) {
    await sleep(STREAM_LEASE_PATIENCE.everyMs);
    got = await budget.tryTake(req);
  }
  if (!("refused" in got)) return got;
  const retryAfterSeconds = Math.max(1, Math.ceil(got.retryAfterMs / 1000));
  throw new AppError(`the account's ${api} budget is in use; retry in ${retryAfterSeconds} s`, {
    statusCode: 429,
    code: "ProviderBudgetSpent",
    details: { api, retryAfterSeconds },
  });
}
