/**
 * One zod schema over the environment, parsed once at cold start.
 *
 * A missing or malformed variable fails the start with a ConfigError that names the variable and says what it
 * expects, instead of failing later inside a request. In FC the AccessKey triple is injected by the runtime from the
 * function's role (ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET / _SECURITY_TOKEN); locally it comes from the local cloud.
 */

import { DEFAULT_AIGC_PRODUCER } from "./audio/aigc-label.js";
import { PriceTableSchema } from "./billing/prices.js";
import { ProviderBudgetSchema } from "./budget/schema.js";
import { KeyCapsSchema } from "./caps/caps.js";
import { ConfigError } from "./errors.js";
import { ProviderNameSchema, type StreamProviderName, StreamProviderSchema } from "./provider-registry.js";
import { COSYVOICE_TASK_LIMIT } from "./providers/dashscope/limits.js";
import { registerSecret } from "./secrets.js";
import * as z from "./zod.js";

const optionalUrl = (what: string) =>
  z
    .optional(z.string().check(z.regex(/^(https?|wss?):\/\/[^\s]+$/, `a URL (http, https, ws or wss) for ${what}`)))
    .check(z.describe(what));

/** A non-empty string; `what` is said both when it is missing and when it is empty. */
const required = (what: string) => z.string({ error: what }).check(z.minLength(1, what));

/** A switch's spellings; what absence means is each switch's own. */
const switchValue = z.optional(z.enum(["true", "false", "1", "0", ""]));
/** A switch that is off unless set. */
const flag = z.pipe(
  switchValue,
  z.transform((v) => v === "true" || v === "1"),
);

/** The entries of a comma-separated list, each trimmed, empty ones dropped. */
const splitList = (v: string): string[] =>
  v
    .split(",")
    .map((k) => k.trim())
    .filter(Boolean);

/** A comma-separated list; absent is the empty list. */
const commaList = z.pipe(
  z.optional(z.string()),
  z.transform((v) => splitList(v ?? "")),
);

/** A number given as a string matching `pattern` (`what` says which), `fallback` when absent. */
const numberOf = (pattern: RegExp, what: string, fallback: string) =>
  z.pipe(z._default(z.string().check(z.regex(pattern, what)), fallback), z.transform(Number));

/** A JSON value checked by `schema`; `fallback` when absent, and an empty string is `undefined`. */
const jsonOf = <T extends z.ZodMiniType>(schema: T, example: string, fallback: string) =>
  z.pipe(
    z.pipe(
      z._default(z.string(), fallback),
      z.transform((v, ctx) => {
        if (v === "") return undefined;
        try {
          return JSON.parse(v) as unknown;
        } catch {
          ctx.issues.push({ code: "custom", message: `a JSON object such as ${example}`, input: v });
          return z.NEVER;
        }
      }),
    ),
    schema,
  );

/** A whole number per stream provider: one number for all, or `name=number` pairs (4,096 for a provider not named). */
const perStreamProvider = (fallback: string) =>
  z.pipe(
    z._default(z.string(), fallback),
    z.transform((v, ctx): Record<StreamProviderName, number> => {
      const out = Object.fromEntries(StreamProviderSchema.options.map((p) => [p, 4096])) as Record<
        StreamProviderName,
        number
      >;
      if (/^[1-9]\d*$/.test(v.trim())) {
        for (const p of StreamProviderSchema.options) out[p] = Number(v);
        return out;
      }
      for (const pair of splitList(v)) {
        const m = /^(\w+)=([1-9]\d*)$/.exec(pair);
        if (!m || !(StreamProviderSchema.options as readonly string[]).includes(m[1]!)) {
          ctx.issues.push({
            code: "custom",
            message: `a whole number, or provider=number pairs such as nls=4096,cosyvoice=200000 (providers: ${StreamProviderSchema.options.join(", ")})`,
            input: v,
          });
          return z.NEVER;
        }
        out[m[1] as StreamProviderName] = Number(m[2]);
      }
      return out;
    }),
  );

const prefix = (fallback: string) =>
  z
    ._default(z.string(), fallback)
    .check(
      z.refine(
        (p) => p === "" || (p.endsWith("/") && !p.startsWith("/") && !p.includes("..")),
        "an OSS key prefix ending in '/', not starting with '/', without '..'",
      ),
    );

/**
 * The variables whose values are secrets, marked where they are declared: each is registered for redaction when the
 * configuration is parsed (a list's every element), so no log line, response or relayed message carries it. A
 * variable named like a secret but left unmarked fails a unit test.
 */
const SECRETS = new Set<unknown>();
const secret = <T>(schema: T): T => {
  SECRETS.add(schema);
  return schema;
};

export const ConfigSchema = z.object({
  REGION: z._default(
    z.string().check(z.regex(/^[a-z]{2}-[a-z0-9-]+$/, "an Alibaba Cloud region id such as cn-shanghai")),
    "cn-shanghai",
  ),

  ALIBABA_CLOUD_ACCESS_KEY_ID: required("the AccessKey ID (set by FC from the function's role)"),
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: secret(required("the AccessKey secret (set by FC from the function's role)")),
  ALIBABA_CLOUD_SECURITY_TOKEN: secret(z.optional(z.string())),

  NLS_APPKEY: required("the AppKey of the NLS project (Intelligent Speech Interaction console)"),
  /** public: wss gateway; internal: the VPC endpoint, free of public traffic when FC runs in a VPC. */
  NLS_NETWORK: z._default(z.enum(["public", "internal"]), "public"),
  NLS_GATEWAY_URL: optionalUrl("the NLS WebSocket gateway (overrides the regional endpoint)"),
  NLS_META_ENDPOINT: optionalUrl("the NLS CreateToken endpoint (overrides the regional endpoint)"),

  NLS_LONG_TEXT_URL: optionalUrl("the NLS long-text REST endpoint (overrides the regional endpoint)"),
  /** Hosts `store` may download provider audio from (an SSRF guard): exact host[:port] or *.suffix; comma-separated. */
  NLS_AUDIO_HOSTS: z.pipe(
    z._default(z.string(), "*.aliyuncs.com"),
    z.transform((v) => splitList(v.toLowerCase())),
  ),

  ICE_ENDPOINT: optionalUrl("the ICE endpoint (default https://ice.<region>.aliyuncs.com)"),
  /** SetEventCallback's AuthKey: when set, ICE callbacks must carry a valid X-ICE-SIGNATURE within 5 minutes. */
  ICE_CALLBACK_AUTH_KEY: secret(
    z.optional(
      z
        .string()
        .check(
          z.regex(
            /^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)[A-Za-z\d]{1,32}$/,
            "ICE's AuthKey: at most 32 letters and digits mixing upper case, lower case and digits",
          ),
        ),
    ),
  ),
  /** The provider of jobs that do not name one. */
  JOBS_DEFAULT_PROVIDER: z._default(ProviderNameSchema, "nls"),

  OSS_BUCKET: z
    .string({ error: "an OSS bucket name" })
    .check(z.regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, "an OSS bucket name (3-63 lower-case letters, digits, '-')")),
  OSS_ENDPOINT: optionalUrl("the OSS endpoint (overrides the regional endpoint)"),
  /** The functions' own OSS I/O uses the internal (same-region) endpoint; download links never do. */
  OSS_INTERNAL: flag,
  /**
   * Where users download from, when not the bucket's public regional endpoint: a custom domain bound to the bucket
   * (CNAME), e.g. `https://media.example.com`. Signed links always use this or the public endpoint.
   */
  OSS_PUBLIC_ENDPOINT: optionalUrl("the origin of download links (a custom domain bound to the bucket)"),
  /** Path-style addressing: required by the local cloud, never needed on Alibaba Cloud. */
  OSS_PATH_STYLE: flag,
  OSS_INPUT_PREFIX: prefix("input/"),
  OSS_OUTPUT_PREFIX: prefix("output/"),

  /** DashScope (Model Studio) API key for CosyVoice; without it the cosyvoice provider is off. */
  DASHSCOPE_API_KEY: secret(z.optional(z.string().check(z.minLength(1)))),
  DASHSCOPE_WS_URL: z._default(
    optionalUrl("the DashScope WebSocket inference endpoint"),
    "wss://dashscope.aliyuncs.com/api-ws/v1/inference",
  ),
  DASHSCOPE_WORKSPACE: z.optional(z.string()),
  DASHSCOPE_HTTP_URL: z._default(
    optionalUrl("DashScope's multimodal-generation endpoint (MiniMax speech)"),
    "https://dashscope.aliyuncs.com/api/v1/services/aigc/multimodal-generation/generation",
  ),
  /** Extra CosyVoice system voices to accept besides those the seed names; comma-separated. */
  COSYVOICE_VOICES: commaList,

  /** Keys that clients of the speech endpoints present (Bearer, X-NLS-Token or ?token=); comma-separated. */
  TTS_API_KEYS: secret(
    commaList.check(
      z.refine((keys) => keys.every((k) => k.length >= 6), "comma-separated API keys of at least 6 characters each"),
    ),
  ),
  /**
   * Browser apps on other origins that may call the API (`https://app.example.com`, comma-separated; `*` for any):
   * preflights answered, responses readable. Default none: the playground is served from the same origin.
   */
  TTS_CORS_ORIGINS: commaList.check(
    z.refine(
      (origins) => origins.every((o) => o === "*" || /^https?:\/\/[^/\s?#]+$/.test(o)),
      "comma-separated origins such as https://app.example.com (scheme and host, no path), or *",
    ),
  ),
  TTS_TOKEN_SECRET: secret(
    z.optional(z.string().check(z.minLength(32, "at least 32 characters (HMAC key for browser tokens)"))),
  ),
  /** The content-addressed speech cache in OSS; "false" turns it off. */
  TTS_CACHE: z.pipe(
    switchValue,
    z.transform((v) => v !== "false" && v !== "0"),
  ),
  TTS_CACHE_PREFIX: prefix("cache/"),
  /**
   * NLS connections opened ahead of requests (the stream function: 1). A request's connection then opens while its
   * input is checked and the cache looked up, and one stays open for the next request for up to 8 s (NLS closes idle
   * connections after 10 s); each is used for one task. 0: connect per request.
   */
  NLS_WARM_SOCKETS: numberOf(/^\d$/, "a number of connections, 0 to 9", "0"),
  /**
   * The most characters one stream takes, by provider: `4096` for every one, or `nls=4096,cosyvoice=200000`, a
   * provider not named taking 4,096 (OpenAI's limit for a speech request). By default NLS and MiniMax take 4,096 (NLS
   * text beyond its 300 a request is spoken in pieces as one stream) and CosyVoice 200,000, one duplex task's limit
   * (a Han character counts 2 there). Longer text is refused with 413, pointing to the job API.
   */
  STREAM_MAX_CHARS: perStreamProvider(`nls=4096,cosyvoice=${COSYVOICE_TASK_LIMIT},minimax=4096`),
  /** Streams one API key may have open at once on one instance: its share of the account's provider tasks. */
  STREAM_KEY_CONCURRENCY: numberOf(/^[1-9]\d*$/, "a whole number of streams", "4"),

  /** Where job records live; must not overlap the input or output prefix. */
  JOBS_PREFIX: prefix("jobs/"),
  /** HMAC key for provider callback URLs (>= 32 characters); the job functions refuse to start without it. */
  CALLBACK_SECRET: secret(
    z.optional(z.string().check(z.minLength(32, "at least 32 characters (HMAC key for callback URLs)"))),
  ),
  /** Public base URL of the callback function (a host name: NLS refuses IP addresses); without it jobs are polled. */
  CALLBACK_BASE_URL: optionalUrl("the callback function's public base URL"),

  /**
   * The service provider's name or filing code that every output's AI-generated-content label names (GB 45438-2025's
   * ContentProducer): your company, or its algorithm filing number.
   */
  AIGC_PROVIDER_NAME: z._default(
    z.string().check(z.minLength(1), z.maxLength(128), z.regex(/^[^\0\n]+$/, "one line, no control characters")),
    DEFAULT_AIGC_PRODUCER,
  ),

  /** What a job with `label: {audible: true}` says first, in its own voice (the explicit, audible label). */
  AIGC_NOTICE_TEXT: z._default(
    z.string().check(z.minLength(1), z.maxLength(300, "at most 300 characters (one short sentence)")),
    "本音频由人工智能生成。",
  ),

  /**
   * The FFmpeg that makes audiobooks (M4B, chaptered MP3, loudness): a path, or a name on PATH. Function Compute's
   * runtimes have it built in; locally, Debian's `ffmpeg` package.
   */
  FFMPEG_PATH: z._default(z.string().check(z.minLength(1)), "ffmpeg"),
  /** A book's chapters encoded at once, one FFmpeg process each (about one vCPU each). */
  BOOK_RENDER_CONCURRENCY: numberOf(/^[1-9]\d*$/, "a whole number of processes, at least 1", "2"),

  /** Parts of one long job synthesized at once (text beyond the provider's limit is split into parts). */
  JOBS_PART_CONCURRENCY: numberOf(/^[1-9]\d*$/, "a whole number of parts, at least 1", "4"),
  /**
   * At most this many characters per part of a long job (empty: the provider's own limit, 100,000 for NLS). Smaller
   * parts run JOBS_PART_CONCURRENCY at a time, so a book finishes sooner than as one 100,000-character task.
   */
  JOBS_PART_CHARS: z.pipe(
    z._default(
      z
        .string()
        .check(
          z.regex(/^(|[1-9]\d{2,})$/, "a whole number of characters, at least 100 (or empty for the provider's limit)"),
        ),
      "",
    ),
    z.transform((v) => (v === "" ? undefined : Number(v))),
  ),
  /** Items of one EventBridge batch synthesizing at once: the provider tasks a batch holds (its audio copies are not counted). */
  BATCH_CONCURRENCY: numberOf(/^[1-9]\d*$/, "a whole number of items, at least 1", "8"),
  /**
   * The account's provider budget (lib/budget/schema.ts), JSON: per API, the tasks at once and calls a second all
   * functions together may start, and the interactive share. Empty: no budget (each call meets the provider's own).
   */
  PROVIDER_BUDGET: jsonOf(z._default(ProviderBudgetSchema, {}), '{"minimax":{"concurrency":10}}', ""),
  /** What characters cost (lib/quotes/prices.ts), JSON; empty: quotes and caps count characters only. */
  PRICES: jsonOf(z.optional(PriceTableSchema), '{"currency":"CNY","perTenThousandCharacters":{"nls":2}}', ""),
  /**
   * Spending caps per API key (lib/caps/caps.ts), JSON keyed by the keys themselves (or `*` for every key): characters
   * and money per UTC day and month. Empty: no caps.
   */
  TTS_API_KEY_CAPS: secret(jsonOf(z._default(KeyCapsSchema, {}), '{"*":{"charactersPerDay":200000}}', "")),
  /** How long a job's submission in `submit` or `store` waits in line for the budget before handing its turn to FC's queue. */
  BUDGET_WAIT_SECONDS: numberOf(/^\d+$/, "a whole number of seconds", "20"),
  /** Let batch webhooks reach loopback and private addresses (a local receiver); never in a deployment facing users. */
  WEBHOOK_ALLOW_PRIVATE: flag,
  /** How long a job step may sit before `reconcile` re-drives it. */
  RECONCILE_STALE_SECONDS: numberOf(/^\d+$/, "a whole number of seconds", "120"),

  LOG_LEVEL: z._default(z.enum(["debug", "info", "warn", "error"]), "info"),
});

export type Config = z.infer<typeof ConfigSchema>;

/** The prefixes must be disjoint, or outputs could retrigger the input pipeline and records mix with audio. */
function checkPrefixes(cfg: Config): string[] {
  const named = [
    ["OSS_INPUT_PREFIX", cfg.OSS_INPUT_PREFIX],
    ["OSS_OUTPUT_PREFIX", cfg.OSS_OUTPUT_PREFIX],
    ["JOBS_PREFIX", cfg.JOBS_PREFIX],
    ["TTS_CACHE_PREFIX", cfg.TTS_CACHE_PREFIX],
  ] as const;
  const issues: string[] = [];
  for (const [a, pa] of named)
    for (const [b, pb] of named)
      if (a < b && (pa.startsWith(pb) || pb.startsWith(pa)))
        issues.push(`${a} and ${b}: invalid; expected prefixes that do not overlap ("${pa}", "${pb}")`);
  return issues;
}

/** Parses an environment; throws ConfigError naming every bad variable. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  // An empty variable means "not set": s.yaml renders ${env('X', '')} as "" for an optional secret.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const result = ConfigSchema.safeParse(present);
  if (result.success) {
    const overlaps = checkPrefixes(result.data);
    if (overlaps.length > 0) throw new ConfigError(overlaps);
    for (const name of SECRET_NAMES) {
      const value: unknown = result.data[name];
      // A list's every element; a map keyed by secrets (TTS_API_KEY_CAPS), its every key.
      const values = Array.isArray(value)
        ? value
        : typeof value === "object" && value !== null
          ? Object.keys(value).filter((k) => k !== "*")
          : [value];
      for (const one of values) if (typeof one === "string") registerSecret(one);
    }
    return result.data;
  }
  const issues = result.error.issues.map((issue) => {
    const name = issue.path.join(".");
    return `${name}: ${present[String(issue.path[0])] === undefined ? "missing" : "invalid"}; expected ${issue.message}`;
  });
  throw new ConfigError(issues);
}

/** The configuration's secret variables, as marked in ConfigSchema. */
export const SECRET_NAMES = (Object.keys(ConfigSchema.shape) as Array<keyof Config>).filter((name) =>
  SECRETS.has(ConfigSchema.shape[name]),
);

let cached: Config | undefined;

/** The process's configuration, parsed on first use and reused by every later call in the instance. */
export function config(): Config {
  cached ??= parseConfig(process.env);
  return cached;
}

/** NLS endpoints for a region, as seed 000 and facts §5/§6 list them. */
export function nlsEndpoints(
  cfg: Pick<Config, "REGION" | "NLS_NETWORK" | "NLS_GATEWAY_URL" | "NLS_META_ENDPOINT" | "NLS_LONG_TEXT_URL">,
): { gateway: string; meta: string; longText: string } {
  const gateway =
    cfg.NLS_GATEWAY_URL ??
    (cfg.NLS_NETWORK === "internal"
      ? `ws://nls-gateway-${cfg.REGION}-internal.aliyuncs.com:80/ws/v1`
      : `wss://nls-gateway-${cfg.REGION}.aliyuncs.com/ws/v1`);
  const meta =
    cfg.NLS_META_ENDPOINT ??
    (cfg.REGION === "ap-southeast-1"
      ? "https://nlsmeta.ap-southeast-1.aliyuncs.com"
      : `https://nls-meta.${cfg.REGION}.aliyuncs.com`);
  const longText =
    cfg.NLS_LONG_TEXT_URL ??
    (cfg.NLS_NETWORK === "internal"
      ? `http://nls-gateway-${cfg.REGION}-internal.aliyuncs.com/rest/v1/tts/async`
      : `https://nls-gateway-${cfg.REGION}.aliyuncs.com/rest/v1/tts/async`);
  return { gateway, meta, longText };
}
