/**
 * Each tenant's share of this instance's upstream syntheses: a key holds at most `perTenant` streams at once, so one
 * key's stalled or greedy clients cannot take every provider task of the account (NLS answers the rest 40000005).
 * A request over its share is refused with 429 and `Retry-After` before any upstream call.
 */
import { InputError } from "../errors.js";

export class TenantSlots {
  readonly #held = new Map<string, number>();

  constructor(private readonly perTenant: number) {}

  /** Takes one of `tenant`'s slots; the returned function gives it back (once, however often it is called). */
  acquire(tenant: string): () => void {
    const held = this.#held.get(tenant) ?? 0;
    if (held >= this.perTenant)
      throw new InputError(
        "Authorization",
        `this key already has ${held} streams open, its share (STREAM_KEY_CONCURRENCY)`,
        {
          statusCode: 429,
          code: "TooManyStreams",
          limit: this.perTenant,
          actual: held,
        },
      );
    this.#held.set(tenant, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#held.get(tenant) ?? 1) - 1;
      if (left <= 0) this.#held.delete(tenant);
      else this.#held.set(tenant, left);
    };
  }
}
