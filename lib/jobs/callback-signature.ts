/** The HMAC a callback URL carries, so only the provider we gave the URL to can drive a job forward. */
import { createHmac, timingSafeEqual } from "node:crypto";

export function signJobId(secret: string, jobId: string): string {
  return createHmac("sha256", secret).update(`nls-callback\n${jobId}`).digest("base64url");
}

export function verifyJobId(secret: string, jobId: string, signature: string | null | undefined): boolean {
  if (!signature) return false;
  const expected = Buffer.from(signJobId(secret, jobId));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function callbackUrl(base: string, secret: string, jobId: string): string {
  return `${base.replace(/\/$/, "")}/callbacks/nls/${jobId}?sig=${signJobId(secret, jobId)}`;
}
