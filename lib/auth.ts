/**
 * Who may use the API, and as whom: an API key (constant-time compared against every configured key), or a
 * short-lived HMAC-signed token minted from one, for browsers, which cannot set headers on <audio> or WebSocket.
 *
 * Every credential resolves to an owner: a one-way digest of the key (never the key), recorded on the jobs and batches
 * it creates, so one tenant never reads another's work. A token carries its key's owner and is honoured only while that
 * key is still configured: removing a key from TTS_API_KEYS revokes its tokens, whatever TTS_TOKEN_SECRET says.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { AppError, AuthError } from "./errors.js";
import * as z from "./zod.js";

/** A token's lifetime: 300 s unless asked, at most an hour (a browser's <audio> needs minutes, not days). */
export const TOKEN_TTL = { default: 300, max: 3600 } as const;

/**
 * The body of `POST /v1/tokens` (optional: no body means the default lifetime).
 * @example {"ttlSeconds":600}
 */
export const TokenRequestSchema = z.strictObject({
  ttlSeconds: z._default(
    z
      .int("a whole number of seconds")
      .check(z.gte(1, "at least 1 second"), z.lte(TOKEN_TTL.max, `at most ${TOKEN_TTL.max} seconds (an hour)`)),
    TOKEN_TTL.default,
  ),
});

export interface ApiAuthOptions {
  readonly keys: readonly string[];
  /** HMAC key for tokens; by default derived from the API keys, so rotating the keys revokes the tokens. */
  readonly tokenSecret?: string;
  readonly now?: () => number;
}

const digest = (s: string): Buffer => createHash("sha256").update(s).digest();

/** The owner id of an API key: 32 hex characters of a domain-separated SHA-256, safe to store and log. */
export const ownerOfKey = (key: string): string =>
  createHash("sha256").update(`tts-owner\n${key}`).digest("hex").slice(0, 32);

const OWNER = /^[0-9a-f]{32}$/;

export class ApiAuth {
  readonly #keys: Array<{ digest: Buffer; owner: string }>;
  readonly #owners: Set<string>;
  readonly #secret: Buffer;

  constructor(private readonly opts: ApiAuthOptions) {
    this.#keys = opts.keys.map((k) => ({ digest: digest(k), owner: ownerOfKey(k) }));
    this.#owners = new Set(this.#keys.map((k) => k.owner));
    this.#secret = opts.tokenSecret
      ? Buffer.from(opts.tokenSecret)
      : digest(`tts-token\n${[...opts.keys].sort().join("\n")}`);
  }

  /** The owner of a configured key. Compares digests so length leaks nothing, and every key so timing does not tell which. */
  keyOwner(presented: string): string | undefined {
    const d = digest(presented);
    let owner: string | undefined;
    for (const k of this.#keys) if (timingSafeEqual(d, k.digest)) owner = k.owner;
    return owner;
  }

  isKey(presented: string): boolean {
    return this.keyOwner(presented) !== undefined;
  }

  /** A token acting as `owner` (the key that minted it); `ttlSeconds` is checked by TokenRequestSchema. */
  mintToken(owner: string, ttlSeconds: number = TOKEN_TTL.default): { token: string; expiresAt: string } {
    // The route has refused any other lifetime with a 400 naming ttlSeconds; here it is a caller's bug.
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > TOKEN_TTL.max)
      throw new RangeError(`ttlSeconds ${ttlSeconds} is outside 1..${TOKEN_TTL.max}`);
    const exp = Math.floor(this.#now() / 1000) + ttlSeconds;
    const payload = Buffer.from(JSON.stringify({ exp, own: owner })).toString("base64url");
    return { token: `${payload}.${this.#sign(payload)}`, expiresAt: new Date(exp * 1000).toISOString() };
  }

  /** The owner a token acts for, when its signature holds, it has not expired, and its key is still configured. */
  tokenOwner(presented: string): string | undefined {
    const [payload, signature, extra] = presented.split(".");
    if (!payload || !signature || extra !== undefined || presented.length > 1024) return undefined;
    const expected = Buffer.from(this.#sign(payload));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
      const { exp, own } = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as {
        exp?: unknown;
        own?: unknown;
      };
      if (typeof exp !== "number" || exp * 1000 <= this.#now()) return undefined;
      return typeof own === "string" && OWNER.test(own) && this.#owners.has(own) ? own : undefined;
    } catch {
      return undefined;
    }
  }

  isToken(presented: string): boolean {
    return this.tokenOwner(presented) !== undefined;
  }

  /** The owner a key or token acts for; undefined when it is neither. */
  ownerOf(presented: string): string | undefined {
    return this.keyOwner(presented) ?? this.tokenOwner(presented);
  }

  /** The owner a key or token acts for; throws AuthError otherwise. */
  check(presented: string | undefined | null): string {
    const owner = presented ? this.ownerOf(presented) : undefined;
    if (!owner) throw new AuthError("missing or invalid API key or token");
    return owner;
  }

  /**
   * The owner a `POST /v1/tokens` may mint for: an API key's. A valid token is told that tokens cannot mint tokens
   * (a token cannot extend itself), rather than that it is invalid.
   */
  minter(headers: Headers): string {
    const bearer = /^Bearer\s+(.+)$/i.exec(headers.get("authorization") ?? "")?.[1];
    const owner = bearer ? this.keyOwner(bearer) : undefined;
    if (owner) return owner;
    if (bearer && this.tokenOwner(bearer))
      throw new AppError("a token cannot mint tokens: mint with an API key (Authorization: Bearer <key>)", {
        statusCode: 403,
        code: "Forbidden",
      });
    throw new AuthError("missing or invalid API key: tokens are minted with an API key (Authorization: Bearer <key>)");
  }

  /** The credential a request carries: `Authorization: Bearer`, then `X-NLS-Token`, then `?token=`. */
  credentialOf(headers: Headers, url: URL): string | undefined {
    const bearer = /^Bearer\s+(.+)$/i.exec(headers.get("authorization") ?? "")?.[1];
    return bearer ?? headers.get("x-nls-token") ?? url.searchParams.get("token") ?? undefined;
  }

  #sign(payload: string): string {
    return createHmac("sha256", this.#secret).update(payload).digest("base64url");
  }

  #now(): number {
    return this.opts.now?.() ?? Date.now();
  }
}
