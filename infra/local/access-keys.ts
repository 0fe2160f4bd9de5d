/**
 * Who may call the local cloud: AccessKey pairs (optionally STS, with their security token), as Alibaba would know
 * them. A function's role gets STS credentials that expire and carry the role's policy, as FC's AssumeRole does; the
 * user's own AccessKey (the deployer, a producer, a test's client) carries no policy and may do anything.
 */
import { randomBytes } from "node:crypto";
import type { PolicyDocument } from "./ram/policy.js";

export interface AccessKey {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  /** Set for STS credentials: requests must carry this token. */
  readonly securityToken?: string;
  /** Account (UID) the key belongs to; NLS compares it with the AppKey's owner. */
  readonly userId: string;
  /** STS credentials stop working at this time (ms since the epoch). */
  readonly expiresAt?: number;
  /** The role the credentials were issued for, and its policy: every request is authorized against it. */
  readonly role?: { readonly name: string; readonly policy: PolicyDocument };
}

/** Why a key cannot be used now, in the words each service has for it. */
export type KeyRefusal = "unknown" | "expired";

export class AccessKeyRegistry {
  readonly #keys = new Map<string, AccessKey>();
  readonly #now: () => number;

  constructor(keys: readonly AccessKey[], opts: { now?: () => number } = {}) {
    for (const key of keys) this.#keys.set(key.accessKeyId, key);
    this.#now = opts.now ?? Date.now;
  }

  get(accessKeyId: string): AccessKey | undefined {
    return this.#keys.get(accessKeyId);
  }

  /** The key if it may be used now; expired STS credentials are refused as every service refuses them. */
  usable(accessKeyId: string): AccessKey | KeyRefusal {
    const key = this.#keys.get(accessKeyId);
    if (!key) return "unknown";
    if (key.expiresAt !== undefined && key.expiresAt <= this.#now()) return "expired";
    return key;
  }

  add(key: AccessKey): void {
    this.#keys.set(key.accessKeyId, key);
  }

  /** STS credentials for a role, as AssumeRole returns them: `STS.`-prefixed, with a token, valid for `ttlMs`. */
  assumeRole(role: { name: string; policy: PolicyDocument }, userId: string, ttlMs: number): AccessKey {
    this.#prune();
    const key: AccessKey = {
      accessKeyId: `STS.${randomBytes(12).toString("base64url")}`,
      accessKeySecret: randomBytes(20).toString("base64url"),
      securityToken: randomBytes(48).toString("base64"),
      userId,
      expiresAt: this.#now() + ttlMs,
      role,
    };
    this.#keys.set(key.accessKeyId, key);
    return key;
  }

  /** Ends every STS credential issued so far (what time does to them): a client still holding one is refused. */
  expireIssued(): void {
    const now = this.#now();
    for (const [id, key] of this.#keys) if (key.expiresAt !== undefined) this.#keys.set(id, { ...key, expiresAt: now });
  }

  /** Forgets credentials expired over an hour ago, so a long run does not keep every one it issued. */
  #prune(): void {
    const cutoff = this.#now() - 3_600_000;
    for (const [id, key] of this.#keys)
      if (key.expiresAt !== undefined && key.expiresAt < cutoff) this.#keys.delete(id);
  }
}
