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
import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";
import type { Credentials } from "../credentials.js";
import { bodyLength, openRequest, readBody } from "../net/http-client.js";
import { decodeEntities } from "../text/xml.js";
import { authorizationV4, presignV4, v4Date } from "./oss-v4.js";

export { authorizationV4, presignV4, v4Date } from "./oss-v4.js";

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
