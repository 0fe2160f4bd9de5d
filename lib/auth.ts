/**
 * Who may use the speech endpoints: an API key (constant-time compared against every configured key), or a
 * short-lived HMAC-signed token minted from one, for browsers, which cannot set headers on <audio> or WebSocket.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { AuthError } from "./errors.js";

export interface ApiAuthOptions {
  readonly keys: readonly string[];
  /** HMAC key for tokens; by default derived from the API keys, so rotating the keys revokes the tokens. */
  readonly tokenSecret?: string;
  readonly now?: () => number;
}

const digest = (s: string): Buffer => createHash("sha256").update(s).digest();

export class ApiAuth {
  readonly #keyDigests: Buffer[];
  readonly #secret: Buffer;

  constructor(private readonly opts: ApiAuthOptions) {
    this.#keyDigests = opts.keys.map(digest);
    this.#secret = opts.tokenSecret ? Buffer.from(opts.tokenSecret) : digest(`tts-token\n${[...opts.keys].sort().join("\n")}`);
  }

  /** Compares digests so length leaks nothing, and checks every key so timing does not tell which matched. */
  isKey(presented: string): boolean {
    const d = digest(presented);
    let match = false;
    for (const k of this.#keyDigests) match = timingSafeEqual(d, k) || match;
    return match;
  }

  mintToken(ttlSeconds = 300): { token: string; expiresAt: string } {
    const exp = Math.floor(this.#now() / 1000) + Math.max(1, Math.min(ttlSeconds, 3600));
    const payload = Buffer.from(JSON.stringify({ exp })).toString("base64url");
    return { token: `${payload}.${this.#sign(payload)}`, expiresAt: new Date(exp * 1000).toISOString() };
  }

  isToken(presented: string): boolean {
    const [payload, signature, extra] = presented.split(".");
    if (!payload || !signature || extra !== undefined) return false;
    const expected = Buffer.from(this.#sign(payload));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
    try {
      const { exp } = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { exp?: unknown };
      return typeof exp === "number" && exp * 1000 > this.#now();
    } catch {
      return false;
    }
  }

  /** Accepts a key or a token; throws AuthError otherwise. */
  check(presented: string | undefined | null): void {
    if (!presented || !(this.isKey(presented) || this.isToken(presented))) throw new AuthError("missing or invalid API key or token");
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
