/**
 * Server-side verification of Alibaba Cloud POP RPC signatures (HMAC-SHA1, SignatureVersion 1.0), as
 * @alicloud/pop-core produces them (facts/peers.md §3): GET query or POST form body, RFC 3986 encoding,
 * StringToSign = METHOD&%2F&pe(canonical query), key = secret + "&".
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { AccessKey, AccessKeyRegistry } from "../access-keys.js";

export interface PopError {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

export type RpcVerification =
  | { ok: true; params: Record<string, string>; userId: string; key: AccessKey }
  | { ok: false; error: PopError };

const percentEncode = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export function parseRpcParams(raw: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const pair of raw.split("&")) {
    if (!pair) continue;
    const eq = pair.indexOf("=");
    const key = decodeURIComponent(eq === -1 ? pair : pair.slice(0, eq));
    params[key] = decodeURIComponent(eq === -1 ? "" : pair.slice(eq + 1).replace(/\+/g, "%20"));
  }
  return params;
}

export function rpcStringToSign(method: string, params: Record<string, string>): string {
  const canonical = Object.keys(params)
    .filter((k) => k !== "Signature")
    .sort()
    .map((k) => `${percentEncode(k)}=${percentEncode(params[k] ?? "")}`)
    .join("&");
  return `${method}&${percentEncode("/")}&${percentEncode(canonical)}`;
}

export function signRpc(secret: string, stringToSign: string): string {
  return createHmac("sha1", `${secret}&`).update(stringToSign).digest("base64");
}

export class RpcVerifier {
  readonly #seenNonces = new Map<string, number>();

  constructor(
    private readonly credentials: AccessKeyRegistry,
    private readonly opts: { maxSkewMs?: number; now?: () => number } = {},
  ) {}

  verify(method: string, params: Record<string, string>): RpcVerification {
    const now = this.opts.now?.() ?? Date.now();
    const missing = [
      "AccessKeyId",
      "Signature",
      "SignatureMethod",
      "SignatureVersion",
      "SignatureNonce",
      "Timestamp",
      "Action",
      "Version",
    ].find((k) => !params[k]);
    if (missing)
      return fail(
        400,
        "MissingParameter",
        `The input parameter "${missing}" that is mandatory for processing this request is not supplied.`,
      );
    if (params.SignatureMethod !== "HMAC-SHA1")
      return fail(
        400,
        "InvalidSignatureMethod",
        `The specified signature method "${params.SignatureMethod}" is not supported.`,
      );
    if (params.SignatureVersion !== "1.0")
      return fail(400, "InvalidSignatureVersion", "Specified signature version is not supported.");
    const key = this.credentials.usable(params.AccessKeyId!);
    if (key === "unknown") return fail(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.");
    if (key === "expired") return fail(400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.");
    if (key.securityToken !== undefined && params.SecurityToken !== key.securityToken)
      return fail(
        400,
        "InvalidSecurityToken.Mismatch",
        "Specified SecurityToken is invalid or mismatches the AccessKeyId.",
      );
    const ts = Date.parse(params.Timestamp!);
    if (Number.isNaN(ts) || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(params.Timestamp!))
      return fail(400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.");
    if (Math.abs(now - ts) > (this.opts.maxSkewMs ?? 15 * 60_000))
      return fail(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.");
    const expected = signRpc(key.accessKeySecret, rpcStringToSign(method, params));
    const given = Buffer.from(params.Signature!);
    if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected))) {
      // Real POP echoes its string to sign; it holds no secret and helps debug a client.
      return fail(
        400,
        "SignatureDoesNotMatch",
        `Specified signature is not matched with our calculation. server string to sign is:${rpcStringToSign(method, params)}`,
      );
    }
    const nonceKey = `${params.AccessKeyId}:${params.SignatureNonce}`;
    if (this.#seenNonces.has(nonceKey))
      return fail(400, "SignatureNonceUsed", "Specified signature nonce was used already.");
    this.#seenNonces.set(nonceKey, now);
    if (this.#seenNonces.size > 10_000) this.#seenNonces.delete(this.#seenNonces.keys().next().value!);
    const { Signature: _sig, ...rest } = params;
    return { ok: true, params: rest, userId: key.userId, key };
  }
}

function fail(status: number, code: string, message: string): RpcVerification {
  return { ok: false, error: { status, code, message } };
}
