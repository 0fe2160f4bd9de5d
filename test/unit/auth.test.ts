/** API keys and the short-lived tokens a key mints, and each key's share of streams. */
import { describe, expect, it } from "vitest";
import { ApiAuth, ownerOfKey } from "../../lib/auth.js";
import { AuthError, InputError } from "../../lib/errors.js";
import { TenantSlots } from "../../lib/speech/tenant-slots.js";

describe("API keys and tokens", () => {
  let now = Date.parse("2026-12-06T00:00:00Z");
  const auth = new ApiAuth({ keys: ["key-alpha-1", "key-beta-22"], tokenSecret: "s".repeat(32), now: () => now });

  it("knows each configured key's owner, and nothing else", () => {
    expect(auth.keyOwner("key-alpha-1")).toBe(ownerOfKey("key-alpha-1"));
    expect(auth.keyOwner("key-alpha-")).toBeUndefined();
    expect(auth.isKey("key-beta-22")).toBe(true);
    expect(ownerOfKey("key-alpha-1")).not.toBe(ownerOfKey("key-beta-22"));
  });

  it("mints a token that acts for its key's owner until it expires, an hour at most", () => {
    const owner = auth.keyOwner("key-alpha-1")!;
    const { token, expiresAt } = auth.mintToken(owner, 60);
    expect(auth.tokenOwner(token)).toBe(owner);
    expect(auth.ownerOf(token)).toBe(owner);
    expect(Date.parse(expiresAt) - now).toBe(60_000);
    now += 61_000;
    expect(auth.isToken(token)).toBe(false);
    // More than an hour is the route's to refuse (TokenRequestSchema); minting it is a caller's bug.
    expect(() => auth.mintToken(owner, 86_400)).toThrow(RangeError);
    expect(Date.parse(auth.mintToken(owner, 3600).expiresAt) - now).toBe(3600_000);
  });

  it("refuses a token whose signature, shape or key does not hold", () => {
    const owner = auth.keyOwner("key-alpha-1")!;
    const { token } = auth.mintToken(owner, 300);
    const [payload, signature] = token.split(".");
    expect(auth.tokenOwner(`${payload}.${signature}x`)).toBeUndefined();
    expect(auth.tokenOwner(`${payload}.${signature}.more`)).toBeUndefined();
    expect(auth.tokenOwner("x".repeat(2000))).toBeUndefined();
    const forged = Buffer.from(JSON.stringify({ exp: now / 1000 + 60, own: owner })).toString("base64url");
    expect(auth.tokenOwner(`${forged}.${signature}`)).toBeUndefined();
    // A key removed from the configuration takes its tokens with it.
    const later = new ApiAuth({ keys: ["key-beta-22"], tokenSecret: "s".repeat(32), now: () => now });
    expect(later.tokenOwner(token)).toBeUndefined();
  });

  it("reads a credential from Bearer, then X-NLS-Token, then ?token=, and refuses none with an AuthError", () => {
    const url = new URL("http://h/v1/stream?token=from-query");
    expect(auth.credentialOf(new Headers({ authorization: "Bearer b", "x-nls-token": "n" }), url)).toBe("b");
    expect(auth.credentialOf(new Headers({ "x-nls-token": "n" }), url)).toBe("n");
    expect(auth.credentialOf(new Headers(), url)).toBe("from-query");
    expect(auth.credentialOf(new Headers(), new URL("http://h/"))).toBeUndefined();
    expect(() => auth.check(undefined)).toThrow(AuthError);
    expect(() => auth.check("nope")).toThrow(AuthError);
    expect(auth.check("key-beta-22")).toBe(ownerOfKey("key-beta-22"));
  });
});

describe("each key's share of streams", () => {
  it("refuses a key over its share with 429, and gives a slot back once however often it is released", () => {
    const slots = new TenantSlots(2);
    const a1 = slots.acquire("a");
    slots.acquire("a");
    const over = (() => {
      try {
        slots.acquire("a");
      } catch (error) {
        return error;
      }
    })();
    expect(over).toBeInstanceOf(InputError);
    expect(over).toMatchObject({ statusCode: 429, code: "TooManyStreams", details: { limit: 2, actual: 2 } });
    // Another key is not affected.
    expect(() => slots.acquire("b")).not.toThrow();
    a1();
    a1();
    expect(() => slots.acquire("a")).not.toThrow();
    expect(() => slots.acquire("a")).toThrow(InputError);
  });
});
