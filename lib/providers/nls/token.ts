/**
 * NLS access tokens from CreateToken (POP RPC, version 2019-02-28), cached until shortly before `ExpireTime` and
 * shared by concurrent callers.
 *
 * A 500 without `Code` (which an RPC client resolves as an answer) fails the response schema and is retried, the
 * timeout is ours, and the server's message is passed on only up to where POP echoes its string to sign (with the
 * AccessKeyId).
 */

import type { CredentialsSource } from "../../credentials.js";
import type { UpstreamError } from "../../errors.js";
import { withRetry } from "../../retry.js";
import { registerSecret } from "../../secrets.js";
import * as z from "../../zod.js";
import { PopRpcClient } from "../pop-rpc.js";
import { nlsError } from "./errors.js";

/**
 * CreateToken's response (facts §5).
 * @example {"RequestId":"0989F63E-…","NlsRequestId":"aed8c1af…","ErrMsg":"","Token":{"Id":"124fc752…","ExpireTime":1527592757,"UserId":"12345678"}}
 */
export const CreateTokenResponseSchema = z.object({
  RequestId: z.optional(z.string()),
  NlsRequestId: z.optional(z.string()),
  ErrMsg: z.optional(z.string()),
  Token: z.object({
    Id: z.string().check(z.minLength(1)),
    /** Unix time in seconds. */
    ExpireTime: z.int().check(z.positive()),
    UserId: z.optional(z.union([z.string(), z.number()])),
  }),
});

export interface TokenSource {
  token(): Promise<string>;
  /** Drops a token the gateway refused (40000001), so the next call fetches a fresh one. */
  invalidate(token: string): void;
}

export interface NlsTokenClientOptions {
  /** e.g. https://nls-meta.cn-shanghai.aliyuncs.com */
  readonly endpoint: string;
  readonly credentials: CredentialsSource;
  readonly apiVersion?: string;
  readonly timeoutMs?: number;
  /** Fetch a new token this long before the old one expires. */
  readonly refreshMarginMs?: number;
  readonly now?: () => number;
  readonly retry?: { attempts?: number; baseMs?: number };
}

const RETRYABLE_POP_CODES = /^(Throttling|ServiceUnavailable|InternalError|UnknownError)/;
const NETWORK_ERRORS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "ENOTFOUND",
  "RequestTimeoutError",
]);

export class NlsTokenClient implements TokenSource {
  readonly #client: PopRpcClient;
  #cached: { id: string; expiresAtMs: number } | undefined;
  #inflight: Promise<string> | undefined;

  constructor(private readonly opts: NlsTokenClientOptions) {
    // The credentials are read for every request, so rotated STS credentials are picked up.
    this.#client = new PopRpcClient({
      endpoint: opts.endpoint,
      apiVersion: opts.apiVersion ?? "2019-02-28",
      credentials: opts.credentials,
    });
  }

  async token(): Promise<string> {
    const now = this.opts.now?.() ?? Date.now();
    if (this.#cached && now < this.#cached.expiresAtMs - (this.opts.refreshMarginMs ?? 5 * 60_000))
      return this.#cached.id;
    this.#inflight ??= this.#fetch().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  invalidate(token: string): void {
    if (this.#cached?.id === token) this.#cached = undefined;
  }

  async #fetch(): Promise<string> {
    const response = await withRetry(() => this.#createToken(), {
      attempts: this.opts.retry?.attempts ?? 3,
      baseMs: this.opts.retry?.baseMs ?? 200,
    });
    registerSecret(response.Token.Id);
    this.#cached = { id: response.Token.Id, expiresAtMs: response.Token.ExpireTime * 1000 };
    return response.Token.Id;
  }

  async #createToken(): Promise<z.infer<typeof CreateTokenResponseSchema>> {
    let raw: unknown;
    try {
      raw = await this.#client.request("CreateToken", {}, { method: "GET", timeoutMs: this.opts.timeoutMs ?? 10_000 });
    } catch (error) {
      throw toUpstreamError(error);
    }
    const parsed = CreateTokenResponseSchema.safeParse(raw);
    if (!parsed.success) {
      throw nlsError({
        code: "InvalidTokenResponse",
        upstreamMessage: `CreateToken answered without a token (${parsed.error.issues[0]?.path.join(".")})`,
        retryable: true,
      });
    }
    return parsed.data;
  }
}

/** Keeps only the POP code and the server's own message. */
function toUpstreamError(error: unknown): UpstreamError {
  const e = error as { code?: string; name?: string; data?: { Message?: string; RequestId?: string } };
  const code = e.code ?? e.name ?? "NetworkError";
  const invalid = code === "InvalidResponse";
  const network = NETWORK_ERRORS.has(code) || NETWORK_ERRORS.has(e.name ?? "") || invalid;
  return nlsError({
    code: invalid ? "InvalidTokenResponse" : code,
    // POP echoes its string to sign (with the AccessKeyId) after this marker: cut it off.
    upstreamMessage:
      e.data?.Message?.split(/\s*server string to sign is/i)[0] ??
      (network ? `CreateToken failed: ${code}` : "CreateToken failed"),
    retryable: network || RETRYABLE_POP_CODES.test(code),
  });
}
