/**
 * The OSS wire, small: V4-signed requests (`OSS4-HMAC-SHA256`) over node:http(s) with kept-alive connections, the few
 * XML answers this project reads, and V4 presigned GET URLs. It replaces ali-oss in the deployed functions: ali-oss,
 * with urllib, platform's user-agent parsing, xml2js and mime under it, cost about 150 ms of every cold start (measured
 * by building a function with and without it), and copied and hashed every Buffer body once more.
 *
 * The signatures are what ali-oss 6.x computes for the same request (lib/common/signUtils.js): its own signer and
 * this one are compared for the same inputs in test/unit/oss-signing.test.ts, and every request here is verified by
 * the local OSS emulator's authenticator, which follows the same document.
 */
import { createHash, createHmac } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";
import type { Credentials } from "../credentials.js";
import { bodyLength, openRequest, readBody } from "../net/http-client.js";
import { rfc3986 } from "../net/percent-encode.js";
import { decodeEntities } from "../text/xml.js";

export interface OssClientConfig {
  readonly bucket: string;
  /** `oss-cn-shanghai`; the V4 signing region is the same without `oss-`. */
  readonly region: string;
  /** The current credentials (STS credentials rotate: read per request). */
  readonly credentials: () => Credentials;
  /** Custom endpoint (the local cloud, an accelerate domain); default `https://<region>[-internal].aliyuncs.com`. */
  readonly endpoint?: string;
  readonly internal?: boolean;
  /** Path-style addressing (`/<bucket>/<key>`); the local cloud needs it. */
  readonly pathStyle?: boolean;
  /** The endpoint is a custom domain bound to the bucket (CNAME): its host is used as it is, with no bucket in it. */
  readonly cname?: boolean;
  /** A request fails when no byte moves for this long. */
  readonly timeoutMs?: number;
}

/** An OSS refusal (its XML `<Code>`), or a network failure (`status` 0 and the socket's error code). */
export class OssRequestError extends Error {
  override readonly name = "OssRequestError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
  ) {
    super(message);
  }
}

export interface OssRequest {
  readonly method: "GET" | "HEAD" | "PUT" | "POST" | "DELETE";
  readonly key?: string;
  /** Query parameters; `null` is a bare sub-resource (`?uploads`). */
  readonly query?: Readonly<Record<string, string | null>>;
  readonly headers?: Readonly<Record<string, string>>;
  /** One buffer, or a streamed part's chunks as they were read. */
  readonly body?: Buffer | readonly Buffer[];
}

export interface OssResponse {
  readonly status: number;
  readonly headers: IncomingMessage["headers"];
}

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

/** What `mime` (under ali-oss) gave the extensions this project writes, when a write names no type. */
const TYPES: Record<string, string> = {
  mp3: "audio/mpeg",
  wav: "audio/wav",
  ogg: "audio/ogg",
  opus: "audio/ogg",
  flac: "audio/x-flac",
  m4a: "audio/mp4",
  srt: "application/x-subrip",
  vtt: "text/vtt",
  json: "application/json",
  txt: "text/plain",
  csv: "text/csv",
  html: "text/html",
  xml: "application/xml",
};

export function contentTypeOfKey(key: string): string | undefined {
  const dot = key.lastIndexOf(".");
  return dot === -1 || key.lastIndexOf("/") > dot ? undefined : TYPES[key.slice(dot + 1).toLowerCase()];
}

/** The text of the first `<tag>` in a small XML answer, entities decoded. */
export function xmlText(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  return m ? decodeEntities(m[1]!) : undefined;
}

/** A query as sent (its order kept; `null` is a bare sub-resource such as `?uploads`). */
function queryString(query: Readonly<Record<string, string | null>>): string {
  return Object.entries(query)
    .map(([k, v]) => (v === null ? encodeURIComponent(k) : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`))
    .join("&");
}

export class OssClient {
  readonly #origin: URL;
  readonly #hostHeader: string | undefined;
  readonly #pathStyle: boolean;
  readonly #signRegion: string;

  constructor(private readonly config: OssClientConfig) {
    const host = `${config.region}${config.internal ? "-internal" : ""}.aliyuncs.com`;
    const endpoint = new URL(config.endpoint ?? `https://${host}`);
    this.#pathStyle = config.pathStyle ?? false;
    const ip = isIP(endpoint.hostname.replace(/^\[|\]$/g, "")) !== 0;
    if (!this.#pathStyle && !ip && !config.cname) endpoint.hostname = `${config.bucket}.${endpoint.hostname}`;
    // An IP endpoint without path style: the bucket travels in the Host header, as ali-oss sends it.
    this.#hostHeader = !this.#pathStyle && ip ? `${config.bucket}.${host}` : undefined;
    this.#origin = endpoint;
    this.#signRegion = config.region.replace(/^oss-/, "");
  }

  get bucket(): string {
    return this.config.bucket;
  }

  #path(key: string): string {
    const escaped = encodeURIComponent(key).replace(/%2F/g, "/");
    return this.#pathStyle ? `/${this.config.bucket}/${escaped}` : `/${escaped}`;
  }

  #prepare(req: OssRequest): { path: string; headers: Record<string, string> } {
    const creds = this.config.credentials();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
    headers["x-oss-date"] = v4Date(new Date());
    headers["x-oss-content-sha256"] = "UNSIGNED-PAYLOAD";
    if (creds.securityToken) headers["x-oss-security-token"] = creds.securityToken;
    const query = req.query ?? {};
    headers.authorization = authorizationV4({
      method: req.method,
      bucket: this.config.bucket,
      key: req.key ?? "",
      query,
      headers,
      region: this.#signRegion,
      accessKeyId: creds.accessKeyId,
      accessKeySecret: creds.accessKeySecret,
    });
    if (req.body) headers["content-length"] = String(bodyLength(req.body));
    if (this.#hostHeader) headers.host = this.#hostHeader;
    const search = queryString(query);
    return { path: `${this.#path(req.key ?? "")}${search ? `?${search}` : ""}`, headers };
  }

  /** Sends a request and answers its response with the body unread; an HTTP error status is thrown as OssRequestError. */
  async open(req: OssRequest): Promise<IncomingMessage> {
    const { path, headers } = this.#prepare(req);
    const res = await openRequest(this.#origin, {
      method: req.method,
      path,
      headers,
      body: req.body,
      timeoutMs: this.config.timeoutMs ?? 60_000,
    }).catch((error: Error & { code?: string }) => {
      throw new OssRequestError(0, error.code ?? "RequestError", `${req.method} ${req.key ?? "/"}: ${error.message}`);
    });
    if (res.statusCode! < 300) return res;
    const body = req.method === "HEAD" ? "" : (await readBody(res).catch(() => Buffer.alloc(0))).toString("utf8");
    if (req.method === "HEAD") res.resume();
    const code = xmlText(body, "Code") ?? (res.statusCode === 404 ? "NoSuchKey" : `HTTP${res.statusCode}`);
    const message = xmlText(body, "Message");
    throw new OssRequestError(
      res.statusCode!,
      code,
      `${req.method} ${req.key ?? "/"}: ${code}${message ? ` (${message})` : ""}`,
      xmlText(body, "RequestId") ?? (res.headers["x-oss-request-id"] as string | undefined),
    );
  }

  /** Sends a request and reads its whole (small) response. */
  async send(req: OssRequest): Promise<OssResponse & { body: Buffer }> {
    const res = await this.open(req);
    const body = req.method === "HEAD" ? Buffer.alloc(0) : await readBody(res);
    if (req.method === "HEAD") res.resume();
    return { status: res.statusCode!, headers: res.headers, body };
  }

  /**
   * A presigned GET URL (V4 query signature, as ali-oss's `signatureUrlV4`), valid for `expiresSeconds`. OSS refuses V1
   * for accounts created since 2025-03-01 and buckets created since 2025-09-01, so only V4 is made.
   */
  signedUrl(key: string, expiresSeconds: number, response: Record<string, string> = {}): string {
    const query: Record<string, string> = {};
    for (const [k, v] of Object.entries(response)) query[`response-${k.toLowerCase()}`] = v;
    const signed = presignV4({
      bucket: this.config.bucket,
      key,
      query,
      at: new Date(),
      expiresSeconds,
      region: this.#signRegion,
      credentials: this.config.credentials(),
    });
    return `${this.#origin.origin}${this.#path(key)}?${queryString(signed)}`;
  }
}
