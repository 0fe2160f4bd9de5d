/**
 * The long-text job providers, named once: every schema, the configuration, the callback route and the provider
 * registry derive from this list, so adding a provider here makes the compiler point at every place that must know it.
 */
import * as z from "./zod.js";

export const ProviderNameSchema = z.enum(["nls", "ice", "minimax"]);
export type ProviderName = z.infer<typeof ProviderNameSchema>;
