/**
 * Typed errors shared by every module. Each provider classifies its own codes and says so when it makes a
 * UpstreamError (NLS: lib/providers/nls/errors.ts, from its status table); this module knows no provider.
 *
 * One rule decides what the caller sees: an error with `expose` (4xx) shows its message;
 * anything else is logged whole and answered with a generic message (see `toErrorBody`).
 */

import type { ProviderName } from "./provider-registry.js";
import { scrubSecrets } from "./secrets.js";

/** Where in the user's text a problem is (an SSML document's line and column), so a client can point at it. */
export interface TextPosition {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export type ErrorDetails = Record<string, string | number | boolean | undefined | readonly TextPosition[]>;

/** Base class: every error that crosses a module boundary is one of these. */
export class AppError extends Error {
  override name = "AppError";
  /** HTTP status the edge should answer with. */
  readonly statusCode: number;
  /** Stable machine-readable code (`InvalidInput`, `41020001`, ...). */
  readonly code: string;
  readonly details: ErrorDetails;

  constructor(message: string, opts: { statusCode: number; code: string; details?: ErrorDetails; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.statusCode = opts.statusCode;
    this.code = opts.code;
    this.details = opts.details ?? {};
  }

  /** Only client errors are safe to show verbatim (middy's http-error-handler rule). */
  get expose(): boolean {
    return this.statusCode < 500;
  }
}

/**
 * Bad input from a caller: names the field and, where there is one, the limit it broke.
 * @example throw new InputError("text", "must be at most 300 characters (got 301)", { limit: 300, actual: 301 })
 */
export class InputError extends AppError {
  override name = "InputError";
  readonly field: string;

  constructor(
    field: string,
    problem: string,
    opts: {
      limit?: number | string;
      actual?: number | string;
      statusCode?: number;
      code?: string;
      /** Each problem's place in the field's text (offset in UTF-16 units, line and column from 1). */
      positions?: readonly TextPosition[];
    } = {},
  ) {
    super(`${field}: ${problem}`, {
      statusCode: opts.statusCode ?? 400,
      code: opts.code ?? "InvalidInput",
      details: {
        field,
        limit: opts.limit,
        actual: opts.actual,
        ...(opts.positions ? { positions: opts.positions } : {}),
      },
    });
    this.field = field;
  }
}

/** Missing or invalid credentials presented to us (not to a provider). */
export class AuthError extends AppError {
  override name = "AuthError";
  constructor(message = "missing or invalid credentials") {
    super(message, { statusCode: 401, code: "Unauthorized" });
  }
}

/** The environment does not describe a runnable deployment. Thrown once, at cold start. */
export class ConfigError extends AppError {
  override name = "ConfigError";
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super(`invalid configuration:\n  - ${issues.join("\n  - ")}`, { statusCode: 500, code: "InvalidConfiguration" });
    this.issues = issues;
  }
}

/** Who failed: a job provider, a streaming-only one (CosyVoice), OSS, or FC itself (an async invocation). */
export type Upstream = ProviderName | "cosyvoice" | "oss" | "fc";

/**
 * An upstream answered with an error (or not at all): a provider, or OSS or FC, which are not providers, so the name
 * is the wire's (`UpstreamError`).
 * `retryable` says whether the same request may succeed later; `needsNewToken` that it may with a fresh NLS token.
 */
export class UpstreamError extends AppError {
  override name = "UpstreamError";
  readonly provider: Upstream;
  readonly providerCode: string;
  readonly retryable: boolean;
  readonly needsNewToken: boolean;
  /** The upstream's own status text, e.g. `Gateway:TOO_MANY_REQUESTS:Too many requests!`. */
  readonly upstreamMessage: string;
  /** What the seed says the code means and what to do about it. */
  readonly explanation: string;

  constructor(opts: {
    provider: Upstream;
    code: string | number;
    upstreamMessage?: string;
    retryable?: boolean;
    needsNewToken?: boolean;
    explanation?: string;
    taskId?: string;
    cause?: unknown;
  }) {
    const code = String(opts.code);
    const explanation = opts.explanation ?? "";
    // An upstream may quote our credential back ("The token '…' is invalid!"): it never travels further.
    const upstreamMessage = scrubSecrets(opts.upstreamMessage ?? "");
    super(`${opts.provider} ${code}: ${upstreamMessage || explanation}`.trim(), {
      // 502: the upstream failed us; the edge decides whether the message may be shown.
      statusCode: 502,
      code,
      details: { provider: opts.provider, taskId: opts.taskId },
      cause: opts.cause,
    });
    this.provider = opts.provider;
    this.providerCode = code;
    this.retryable = opts.retryable ?? false;
    this.needsNewToken = opts.needsNewToken ?? false;
    this.upstreamMessage = upstreamMessage;
    this.explanation = explanation;
  }
}

/** The JSON body an HTTP edge answers with; 5xx bodies never carry internal text. */
export function toErrorBody(error: unknown): {
  statusCode: number;
  body: { error: { code: string; message: string } & ErrorDetails };
} {
  if (error instanceof AppError && error.expose) {
    return {
      statusCode: error.statusCode,
      body: { error: { code: error.code, message: error.message, ...error.details } },
    };
  }
  if (error instanceof UpstreamError && isCapacityRefusal(error)) {
    // The account's provider capacity is full for now: a 503 the client may retry (with Retry-After), not a 502.
    return {
      statusCode: 503,
      body: {
        error: {
          code: "UpstreamBusy",
          message: `${error.provider} is at its concurrency limit (${error.providerCode}); retry shortly`,
          provider: error.provider,
          providerCode: error.providerCode,
          retryable: true,
        },
      },
    };
  }
  if (error instanceof UpstreamError) {
    // The provider's code and retryability help a client decide what to do; the internal message does not.
    return {
      statusCode: 502,
      body: {
        error: {
          code: "UpstreamError",
          message: `${error.provider} failed with ${error.providerCode}`,
          provider: error.provider,
          providerCode: error.providerCode,
          retryable: error.retryable,
        },
      },
    };
  }
  return { statusCode: 500, body: { error: { code: "InternalError", message: "internal error" } } };
}

/** The code a job records for an error: the provider's own code, else ours; anything else is `InternalError`. */
export function codeOf(error: unknown): string {
  if (error instanceof UpstreamError) return error.providerCode;
  return error instanceof AppError ? error.code : "InternalError";
}

/** The reason a job records for an error: the provider's message and what it means, else the message. */
export function reasonOf(error: unknown): string {
  if (error instanceof UpstreamError) return [error.upstreamMessage, error.explanation].filter(Boolean).join(" — ");
  return error instanceof Error ? error.message : String(error);
}

/** A provider's "too many requests or tasks at once" (NLS 40000005, DashScope's Throttling family, an HTTP 429). */
export function isCapacityRefusal(error: UpstreamError): boolean {
  return /^(40000005|Throttling.*|429|HTTP429|FC429)$/.test(error.providerCode);
}
