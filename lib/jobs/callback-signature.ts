/** The HMAC a callback URL carries, so only the provider we gave the URL to can drive a job forward. */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { ProviderName } from "../provider-registry.js";

export function signJobId(secret: string, jobId: string): string {
  return createHmac("sha256", secret).update(`nls-callback\n${jobId}`).digest("base64url");
}

export function verifyJobId(secret: string, jobId: string, signature: string | null | undefined): boolean {
  if (!signature) return false;
  const expected = Buffer.from(signJobId(secret, jobId));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The URL a provider calls back: the HMAC travels in the path (`/callbacks/nls/{jobId}/{sig}`), since no Alibaba
 * document promises that a `notify_url`'s or `NotifyAddress`'s query string is kept. The earlier `?sig=` form is still
 * accepted for jobs submitted before (`legacyCallbackUrl`).
 */
export function callbackUrl(base: string, secret: string, jobId: string, provider: ProviderName = "nls"): string {
  return `${base.replace(/\/$/, "")}/callbacks/${provider}/${jobId}/${signJobId(secret, jobId)}`;
}

export function legacyCallbackUrl(base: string, secret: string, jobId: string, provider: ProviderName = "nls"): string {
  return `${base.replace(/\/$/, "")}/callbacks/${provider}/${jobId}?sig=${signJobId(secret, jobId)}`;
}

/**
 * ICE's own callback authentication (facts §7): X-ICE-SIGNATURE = md5("<callback URL>|<X-ICE-TIMESTAMP>|<AuthKey>"),
 * lower-case hex, with the timestamp (Unix seconds) within `windowSeconds` of now.
 */
export function verifyIceSignature(opts: {
  url: string;
  timestamp: string | null;
  signature: string | null;
  authKey: string;
  nowMs: number;
  windowSeconds?: number;
}): boolean {
  if (!opts.timestamp || !opts.signature || !/^\d{1,12}$/.test(opts.timestamp)) return false;
  if (Math.abs(opts.nowMs / 1000 - Number(opts.timestamp)) > (opts.windowSeconds ?? 300)) return false;
  const expected = Buffer.from(createHash("md5").update(`${opts.url}|${opts.timestamp}|${opts.authKey}`).digest("hex"));
  const given = Buffer.from(opts.signature.toLowerCase());
  return given.length === expected.length && timingSafeEqual(given, expected);
}
