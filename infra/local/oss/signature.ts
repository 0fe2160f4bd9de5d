/**
 * OSS request authentication as Alibaba's servers do it (facts/peers.md §4, ali-oss lib/common/signUtils.js):
 * V4 header (`OSS4-HMAC-SHA256`, derived signing key) and V4 presigned URL (`x-oss-signature` and its scope in the
 * query); V1 header (`OSS ak:sig`, HMAC-SHA1) and V1 presigned URL (`OSSAccessKeyId`/`Expires`/`Signature`) only
 * when the emulator plays a bucket that still accepts them.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { AccessKey, AccessKeyRegistry } from "../access-keys.js";

export interface OssAuthError {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  /** OSS returns what it signed so a client can compare. */
  readonly stringToSign?: string;
}

export type OssAuthResult =
  | { ok: true; accessKeyId: string; anonymous: boolean; key?: AccessKey }
  | { ok: false; error: OssAuthError };

export interface SignedRequest {
  readonly method: string;
  readonly bucket: string;
  /** Decoded object key, "" for bucket-level requests. */
  readonly key: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
}

/** Query parameters that V1 signs (aliyun-oss-go-sdk signKeyList plus response-* overrides). */
const V1_SUBRESOURCES = new Set([
  "acl",
  "uploads",
  "location",
  "cors",
  "logging",
  "website",
  "referer",
  "lifecycle",
  "delete",
  "append",
  "tagging",
  "objectMeta",
  "uploadId",
  "partNumber",
  "security-token",
  "position",
  "img",
  "style",
  "styleName",
  "replication",
  "replicationProgress",
  "replicationLocation",
  "cname",
  "bucketInfo",
  "comp",
  "qos",
  "live",
  "status",
  "vod",
  "startTime",
  "endTime",
  "symlink",
  "x-oss-process",
  "response-content-type",
  "response-content-language",
  "response-expires",
  "response-cache-control",
  "response-content-disposition",
  "response-content-encoding",
  "udf",
  "udfName",
  "udfImage",
  "udfId",
  "udfImageDesc",
  "udfApplication",
  "udfApplicationLog",
  "restore",
  "callback",
  "callback-var",
  "versionId",
  "versions",
  "versioning",
  "sequential",
  "x-oss-traffic-limit",
  "stat",
  "policy",
  "encryption",
]);

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v.join(",") : v;
};

const rfc3986 = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function v1Resource(req: SignedRequest): string {
  const path = req.bucket ? `/${req.bucket}/${req.key}` : "/";
  const subs = [...new Set([...req.query.keys()].filter((k) => V1_SUBRESOURCES.has(k)))].sort();
  if (subs.length === 0) return path;
  return `${path}?${subs.map((k) => (req.query.get(k) ? `${k}=${req.query.get(k)}` : k)).join("&")}`;
}

export function v1StringToSign(req: SignedRequest, dateSlot: string): string {
  const ossHeaders = Object.keys(req.headers)
    .filter((k) => k.startsWith("x-oss-"))
    .sort()
    .map((k) => `${k}:${(header(req.headers, k) ?? "").trim()}`);
  return [
    req.method,
    header(req.headers, "content-md5") ?? "",
    header(req.headers, "content-type") ?? "",
    dateSlot,
    ...ossHeaders,
    v1Resource(req),
  ].join("\n");
}

export function v4CanonicalRequest(req: SignedRequest, additional: readonly string[]): string {
  const uri = rfc3986(`/${req.bucket ? `${req.bucket}/` : ""}${req.key}`).replace(/%2F/g, "/");
  const query = [...req.query.entries()]
    .filter(([k]) => k !== "x-oss-signature")
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => (v === "" ? rfc3986(k) : `${rfc3986(k)}=${rfc3986(v)}`))
    .join("&");
  const names = new Set(additional);
  for (const k of Object.keys(req.headers))
    if (k === "content-type" || k === "content-md5" || k.startsWith("x-oss-")) names.add(k);
  const canonicalHeaders = [...names]
    .sort()
    .map((k) => `${k}:${(header(req.headers, k) ?? "").trim()}\n`)
    .join("");
  return [
    req.method,
    uri,
    query,
    canonicalHeaders,
    additional.join(";"),
    header(req.headers, "x-oss-content-sha256") ?? "UNSIGNED-PAYLOAD",
  ].join("\n");
}

/** The day's derived signing keys, as OSS keeps them: four HMACs per key and day, not per request. */
const signingKeys = new Map<string, Buffer>();

function v4Signature(secret: string, day: string, region: string, stringToSign: string): string {
  const id = `${day}\n${region}\n${secret}`;
  let signingKey = signingKeys.get(id);
  if (!signingKey) {
    const hmac = (key: string | Buffer, data: string): Buffer => createHmac("sha256", key).update(data).digest();
    signingKey = hmac(hmac(hmac(hmac(`aliyun_v4${secret}`, day), region), "oss"), "aliyun_v4_request");
    if (signingKeys.size > 1000) signingKeys.clear();
    signingKeys.set(id, signingKey);
  }
  return createHmac("sha256", signingKey).update(stringToSign).digest("hex");
}

export class OssAuthenticator {
  constructor(
    private readonly credentials: AccessKeyRegistry,
    private readonly opts: {
      region: string;
      now?: () => number;
      maxSkewMs?: number;
      /**
       * Accept V1 signatures (headers and presigned URLs). OSS refuses V1 for accounts created since 2025-03-01 and
       * buckets created since 2025-09-01, so the emulator refuses it unless asked to play an older bucket.
       */
      allowV1?: boolean;
    },
  ) {}

  verify(req: SignedRequest): OssAuthResult {
    const authorization = header(req.headers, "authorization");
    if (authorization?.startsWith("OSS4-HMAC-SHA256 ")) return this.#v4(req, authorization);
    if (req.query.get("x-oss-signature-version") === "OSS4-HMAC-SHA256") return this.#v4Presigned(req);
    const v1 = authorization?.startsWith("OSS ") || req.query.has("OSSAccessKeyId");
    if (v1 && !this.opts.allowV1)
      return fail(
        403,
        "AccessDenied",
        "This bucket accepts V4 signatures only (OSS4-HMAC-SHA256): V1 is not available to new accounts and buckets.",
      );
    if (authorization?.startsWith("OSS ")) return this.#v1Header(req, authorization);
    if (req.query.has("OSSAccessKeyId")) return this.#v1Presigned(req);
    if (authorization) return fail(400, "InvalidArgument", "Authorization header is invalid.");
    return { ok: true, accessKeyId: "", anonymous: true };
  }

  #key(accessKeyId: string, token: string | undefined): { secret: string; key: AccessKey } | { error: OssAuthError } {
    const key = this.credentials.usable(accessKeyId);
    if (key === "expired")
      return {
        error: { status: 403, code: "SecurityTokenExpired", message: "The security token you provided has expired." },
      };
    if (key === "unknown")
      return {
        error: {
          status: 403,
          code: "InvalidAccessKeyId",
          message: "The OSS Access Key Id you provided does not exist in our records.",
        },
      };
    if (key.securityToken !== undefined && token !== key.securityToken)
      return {
        error: { status: 403, code: "InvalidSecurityToken", message: "The security token you provided is invalid." },
      };
    return { secret: key.accessKeySecret, key };
  }

  #v1Header(req: SignedRequest, authorization: string): OssAuthResult {
    const m = /^OSS ([^:]+):(.+)$/.exec(authorization);
    if (!m) return fail(400, "InvalidArgument", "Authorization header is invalid.");
    const key = this.#key(m[1]!, header(req.headers, "x-oss-security-token"));
    if ("error" in key) return { ok: false, error: key.error };
    const date = header(req.headers, "date") ?? header(req.headers, "x-oss-date") ?? "";
    const skew = this.#skew(Date.parse(date));
    if (skew) return skew;
    const stringToSign = v1StringToSign(req, date);
    const expected = createHmac("sha1", key.secret).update(Buffer.from(stringToSign, "utf8")).digest("base64");
    return safeEqual(expected, m[2]!)
      ? { ok: true, accessKeyId: m[1]!, anonymous: false, key: key.key }
      : signatureMismatch(stringToSign);
  }

  #v1Presigned(req: SignedRequest): OssAuthResult {
    const expires = req.query.get("Expires") ?? "";
    const key = this.#key(req.query.get("OSSAccessKeyId") ?? "", req.query.get("security-token") ?? undefined);
    if ("error" in key) return { ok: false, error: key.error };
    if (!/^\d+$/.test(expires)) return fail(403, "AccessDenied", "Invalid Expires.");
    if (Number(expires) * 1000 < this.#now()) return fail(403, "AccessDenied", "Request has expired.");
    const stringToSign = v1StringToSign(req, expires);
    const expected = createHmac("sha1", key.secret).update(Buffer.from(stringToSign, "utf8")).digest("base64");
    return safeEqual(expected, req.query.get("Signature") ?? "")
      ? { ok: true, accessKeyId: req.query.get("OSSAccessKeyId")!, anonymous: false, key: key.key }
      : signatureMismatch(stringToSign);
  }

  #v4(req: SignedRequest, authorization: string): OssAuthResult {
    const fields = Object.fromEntries(
      authorization
        .slice("OSS4-HMAC-SHA256 ".length)
        .split(",")
        .map((part) => part.trim().split("=") as [string, string]),
    );
    const scope = v4Scope(fields.Credential);
    if (!scope || !fields.Signature) return fail(400, "InvalidArgument", "Authorization header is invalid.");
    if (scope.region !== this.opts.region)
      return fail(
        400,
        "InvalidArgument",
        `Invalid signing region in Authorization header: expected ${this.opts.region}, got ${scope.region}.`,
      );
    const key = this.#key(scope.accessKeyId, header(req.headers, "x-oss-security-token"));
    if ("error" in key) return { ok: false, error: key.error };
    const date = header(req.headers, "x-oss-date") ?? "";
    const signedAt = v4Time(date, scope.day);
    if (signedAt === undefined)
      return fail(400, "InvalidArgument", "x-oss-date is missing or does not match the credential scope date.");
    const skew = this.#skew(signedAt);
    if (skew) return skew;
    const additional = fields.AdditionalHeaders ? fields.AdditionalHeaders.split(";") : [];
    return this.#v4Verdict(req, scope, key, { date, additional, signature: fields.Signature });
  }

  /** A V4 presigned URL: the signature and its scope in the query, valid from `x-oss-date` for `x-oss-expires` seconds. */
  #v4Presigned(req: SignedRequest): OssAuthResult {
    const q = req.query;
    const scope = v4Scope(q.get("x-oss-credential") ?? undefined);
    const signature = q.get("x-oss-signature");
    const date = q.get("x-oss-date") ?? "";
    const expires = q.get("x-oss-expires") ?? "";
    if (!scope || !signature) return fail(400, "InvalidArgument", "x-oss-credential or x-oss-signature is invalid.");
    if (scope.region !== this.opts.region)
      return fail(400, "InvalidArgument", `Invalid signing region: expected ${this.opts.region}, got ${scope.region}.`);
    const signedAt = v4Time(date, scope.day);
    if (signedAt === undefined)
      return fail(400, "InvalidArgument", "x-oss-date does not match the credential scope date.");
    if (!/^\d+$/.test(expires) || Number(expires) > 604_800)
      return fail(400, "InvalidArgument", "x-oss-expires must be 1 to 604800 seconds.");
    if (signedAt + Number(expires) * 1000 < this.#now()) return fail(403, "AccessDenied", "Request has expired.");
    const key = this.#key(scope.accessKeyId, q.get("x-oss-security-token") ?? undefined);
    if ("error" in key) return { ok: false, error: key.error };
    const additional = q.get("x-oss-additional-headers")?.split(";") ?? [];
    return this.#v4Verdict(req, scope, key, { date, additional, signature });
  }

  /** The V4 string to sign over the canonical request, and whether the given signature is the expected one. */
  #v4Verdict(
    req: SignedRequest,
    scope: V4Scope,
    key: { secret: string; key: AccessKey },
    signed: { date: string; additional: readonly string[]; signature: string },
  ): OssAuthResult {
    const stringToSign = [
      "OSS4-HMAC-SHA256",
      signed.date,
      `${scope.day}/${scope.region}/oss/aliyun_v4_request`,
      createHash("sha256").update(v4CanonicalRequest(req, signed.additional)).digest("hex"),
    ].join("\n");
    const expected = v4Signature(key.secret, scope.day, scope.region, stringToSign);
    return safeEqual(expected, signed.signature)
      ? { ok: true, accessKeyId: scope.accessKeyId, anonymous: false, key: key.key }
      : signatureMismatch(stringToSign);
  }

  #now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  #skew(at: number): OssAuthResult | undefined {
    if (Number.isNaN(at)) return fail(403, "AccessDenied", "The request date is missing or malformed.");
    if (Math.abs(this.#now() - at) > (this.opts.maxSkewMs ?? 15 * 60_000))
      return fail(
        403,
        "RequestTimeTooSkewed",
        "The difference between the request time and the current time is too large.",
      );
    return undefined;
  }
}

interface V4Scope {
  readonly accessKeyId: string;
  readonly day: string;
  readonly region: string;
}

/** A V4 credential, `<ak>/<day>/<region>/oss/aliyun_v4_request`, or undefined when it is not one. */
function v4Scope(credential: string | undefined): V4Scope | undefined {
  const parts = credential?.split("/") ?? [];
  const [accessKeyId, day, region, product, terminator] = parts;
  if (parts.length !== 5 || product !== "oss" || terminator !== "aliyun_v4_request") return undefined;
  return { accessKeyId: accessKeyId!, day: day!, region: region! };
}

/** A V4 date (`20261130T142000Z`) as milliseconds, when it is one and falls on the credential's day. */
function v4Time(date: string, day: string): number | undefined {
  const m = /^(\d{8})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
  if (!m || m[1] !== day) return undefined;
  return Date.parse(`${m[1]!.slice(0, 4)}-${m[1]!.slice(4, 6)}-${m[1]!.slice(6)}T${m[2]}:${m[3]}:${m[4]}Z`);
}

function fail(status: number, code: string, message: string): OssAuthResult {
  return { ok: false, error: { status, code, message } };
}

function signatureMismatch(stringToSign: string): OssAuthResult {
  return {
    ok: false,
    error: {
      status: 403,
      code: "SignatureDoesNotMatch",
      message:
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
      stringToSign,
    },
  };
}
