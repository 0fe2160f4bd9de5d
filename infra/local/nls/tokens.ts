/** NLS access tokens issued by the local CreateToken and checked by the local gateway. */
import { randomBytes } from "node:crypto";

export interface IssuedToken {
  readonly id: string;
  readonly userId: string;
  /** Epoch seconds, as CreateToken's Token.ExpireTime. */
  readonly expireTime: number;
}

export type TokenCheck = { ok: true; token: IssuedToken } | { ok: false; reason: "unknown" | "expired" };

export class TokenRegistry {
  readonly #tokens = new Map<string, IssuedToken>();

  constructor(private readonly opts: { ttlSeconds: number; now?: () => number }) {}

  #now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  issue(userId: string): IssuedToken {
    const token = {
      id: randomBytes(16).toString("hex"),
      userId,
      expireTime: Math.floor(this.#now() / 1000) + this.opts.ttlSeconds,
    };
    this.#tokens.set(token.id, token);
    return token;
  }

  check(id: string | undefined): TokenCheck {
    const token = id ? this.#tokens.get(id) : undefined;
    if (!token) return { ok: false, reason: "unknown" };
    if (token.expireTime * 1000 <= this.#now()) return { ok: false, reason: "expired" };
    return { ok: true, token };
  }

  /** Fault knob: every token issued so far expires now (a token expiring mid-run). */
  expireAll(): void {
    for (const [id, token] of this.#tokens) this.#tokens.set(id, { ...token, expireTime: 0 });
  }
}
