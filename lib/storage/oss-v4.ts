/**
 * OSS's V4 signature (OSS4-HMAC-SHA256): the Authorization header of a request and the query of a presigned URL,
 * equal to ali-oss's (property-tested in test/unit/oss-signing.test.ts).
 */
import { createHash, createHmac } from "node:crypto";
import type { Credentials } from "../credentials.js";
import { rfc3986 } from "../net/percent-encode.js";

const hmac = (key: string | Buffer, data: string): Buffer => createHmac("sha256", key).update(data).digest();

/** `20261130T142000Z`: the V4 date. */
export const v4Date = (at: Date): string =>
  at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");

/** What a V4 signature covers, and the secret it is made with. */
interface V4Signing {
  readonly method: string;
  readonly bucket: string;
  readonly key: string;
  readonly query: Readonly<Record<string, string | null>>;
  /** Lower-case names; x-oss-date is here, or in the query for a presigned URL. */
  readonly headers: Readonly<Record<string, string>>;
  /** The signing region: `cn-shanghai`. */
  readonly region: string;
  readonly accessKeySecret: string;
}

/** The V4 Authorization header for a request (its signature is `signV4`'s). */
export function authorizationV4(input: V4Signing & { readonly accessKeyId: string }): string {
  const { signature, scope } = signV4(input);
  return `OSS4-HMAC-SHA256 Credential=${input.accessKeyId}/${scope},Signature=${signature}`;
}

/**
 * A V4 signature over a request: canonical request (method, `/<bucket>/<key>` RFC 3986-encoded with '/' kept, the
 * sorted query, the `content-type`, `content-md5` and `x-oss-*` headers, the payload hash header), string to sign, and
 * the signing key derived from the secret, day, region and "oss". The date comes from `x-oss-date`, a header or (for a
 * presigned URL) a query parameter.
 */
function signV4(input: V4Signing): { signature: string; scope: string } {
  const { headers } = input;
  const query = Object.keys(input.query)
    .sort((a, b) => a.localeCompare(b))
    .map((k) => {
      const v = input.query[k];
      return v === null || v === undefined ? rfc3986(k) : `${rfc3986(k)}=${rfc3986(v)}`;
    })
    .join("&");
  const signed = Object.keys(headers)
    .filter((k) => k === "content-type" || k === "content-md5" || k.startsWith("x-oss-"))
    .sort();
  const canonical = [
    input.method,
    rfc3986(`/${input.bucket ? `${input.bucket}/` : ""}${input.key}`).replace(/%2F/g, "/"),
    query,
    signed.map((k) => `${k}:${headers[k]!.trim()}\n`).join(""),
    "",
    headers["x-oss-content-sha256"] ?? "UNSIGNED-PAYLOAD",
  ].join("\n");
  const date = headers["x-oss-date"] ?? input.query["x-oss-date"]!;
  const day = date.slice(0, 8);
  const scope = `${day}/${input.region}/oss/aliyun_v4_request`;
  const stringToSign = ["OSS4-HMAC-SHA256", date, scope, createHash("sha256").update(canonical).digest("hex")].join(
    "\n",
  );
  const signingKey = signingKeyFor(input.accessKeySecret, day, input.region);
  return { signature: createHmac("sha256", signingKey).update(stringToSign).digest("hex"), scope };
}

/**
 * The query of a V4 presigned GET URL, as ali-oss's `signatureUrlV4` makes it: the caller's parameters (response-*
 * overrides), then `x-oss-credential`, `x-oss-date`, `x-oss-expires`, `x-oss-signature-version`, the STS token, and
 * `x-oss-signature` over all of them. OSS accepts at most 7 days (604,800 s) of validity.
 */
export function presignV4(input: {
  readonly bucket: string;
  readonly key: string;
  readonly query: Readonly<Record<string, string>>;
  readonly at: Date;
  readonly expiresSeconds: number;
  readonly region: string;
  readonly credentials: Credentials;
}): Record<string, string> {
  const date = v4Date(input.at);
  const query: Record<string, string> = {
    ...input.query,
    "x-oss-credential": `${input.credentials.accessKeyId}/${date.slice(0, 8)}/${input.region}/oss/aliyun_v4_request`,
    "x-oss-date": date,
    "x-oss-expires": String(input.expiresSeconds),
    "x-oss-signature-version": "OSS4-HMAC-SHA256",
  };
  if (input.credentials.securityToken) query["x-oss-security-token"] = input.credentials.securityToken;
  const { signature } = signV4({
    method: "GET",
    bucket: input.bucket,
    key: input.key,
    query,
    headers: {},
    region: input.region,
    accessKeySecret: input.credentials.accessKeySecret,
  });
  return { ...query, "x-oss-signature": signature };
}

/**
 * The V4 signing key, derived from the secret, the day and the region by four HMACs: the same for every request of a
 * day, so it is kept (one entry: the current secret and day) rather than derived again for each request.
 */
let lastKey: { secret: string; day: string; region: string; key: Buffer } | undefined;
function signingKeyFor(secret: string, day: string, region: string): Buffer {
  if (lastKey?.secret === secret && lastKey.day === day && lastKey.region === region) return lastKey.key;
  const key = hmac(hmac(hmac(hmac(`aliyun_v4${secret}`, day), region), "oss"), "aliyun_v4_request");
  lastKey = { secret, day, region, key };
  return key;
}
