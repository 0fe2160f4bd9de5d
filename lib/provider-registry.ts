/**
 * Every provider, named once, with what it does here and what it needs: the long-text job providers
 * (`ProviderNameSchema`) and the streaming ones (`StreamProviderSchema`) are derived from this table, and every port
 * keyed by them is a Record the compiler checks: a provider added here does not compile until it has its job port
 * (lib/jobs/providers.ts, lib/runtime.ts), its streaming planner and timed opener (lib/speech/short.ts, timed.ts). Its
 * configuration variables are listed here; a unit test checks each exists and that its secrets are marked for
 * redaction (lib/config.ts).
 */
import * as z from "./zod.js";

export interface ProviderEntry {
  /** Takes long-text jobs (`POST /v1/jobs`, uploads, batches). */
  readonly jobs: boolean;
  /** Streams speech (`/v1/stream`, the OpenAI-compatible endpoint). */
  readonly stream: boolean;
  /** The configuration variables it reads (lib/config.ts), its secrets among them. */
  readonly config: readonly string[];
}

export const PROVIDERS = {
  nls: {
    jobs: true,
    stream: true,
    config: [
      "NLS_APPKEY",
      "NLS_NETWORK",
      "NLS_GATEWAY_URL",
      "NLS_META_ENDPOINT",
      "NLS_LONG_TEXT_URL",
      "NLS_AUDIO_HOSTS",
      "NLS_WARM_SOCKETS",
    ],
  },
  ice: { jobs: true, stream: false, config: ["ICE_ENDPOINT", "ICE_CALLBACK_AUTH_KEY"] },
  minimax: { jobs: true, stream: true, config: ["DASHSCOPE_API_KEY", "DASHSCOPE_HTTP_URL"] },
  cosyvoice: {
    jobs: false,
    stream: true,
    config: ["DASHSCOPE_API_KEY", "DASHSCOPE_WS_URL", "DASHSCOPE_WORKSPACE", "COSYVOICE_VOICES"],
  },
} as const satisfies Record<string, ProviderEntry>;

type Registry = typeof PROVIDERS;
type With<K extends "jobs" | "stream"> = {
  [P in keyof Registry]: Registry[P][K] extends true ? P : never;
}[keyof Registry];

const names = <K extends "jobs" | "stream">(role: K) =>
  (Object.keys(PROVIDERS) as Array<keyof Registry>).filter((p) => PROVIDERS[p][role]) as [With<K>, ...With<K>[]];

/** The long-text job providers. */
export const ProviderNameSchema = z.enum(names("jobs"));
export type ProviderName = z.infer<typeof ProviderNameSchema>;

/** The streaming providers. */
export const StreamProviderSchema = z.enum(names("stream"));
export type StreamProviderName = z.infer<typeof StreamProviderSchema>;
