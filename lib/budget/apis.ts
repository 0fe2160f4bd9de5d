/**
 * The provider APIs an Alibaba account holds one quota for: each has its own concurrency (tasks running at once) and
 * rate (calls started per second), shared by everything the account runs. The budget (lib/budget/) and the local
 * cloud's emulators (infra/local/quota.ts) both speak of quotas by these names.
 */
import * as z from "../zod.js";

export const BUDGET_APIS = ["nls-ws", "nls-long-text", "ice", "cosyvoice", "minimax"] as const;
export const BudgetApiSchema = z.enum(BUDGET_APIS);
export type BudgetApi = z.infer<typeof BudgetApiSchema>;

/** What each API's quota counts, in the words an error or a report uses. */
export const BUDGET_API_SAYS: Record<BudgetApi, string> = {
  "nls-ws": "NLS speech synthesis over WebSocket",
  "nls-long-text": "NLS long-text synthesis tasks",
  ice: "ICE SubmitAudioProduceJob",
  cosyvoice: "CosyVoice tasks over WebSocket",
  minimax: "MiniMax synthesis calls on DashScope",
};
