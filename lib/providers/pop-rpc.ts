/**
 * Alibaba Cloud POP RPC calls (NLS CreateToken, ICE), small: the RPC signature (HMAC-SHA1 over the sorted,
 * RFC 3986-encoded parameters, keyed with `<secret>&`), GET with the parameters in the query or POST with them as a
 * form body, and the JSON answer, whose `Code` marks a refusal. It is what @alicloud/pop-core's RPCClient sends for
 * the same call (compared request for request in test/unit/pop-rpc.test.ts), without pop-core's dependencies
 * (httpx, json-bigint with bignumber.js, xml2js with sax and xmlbuilder), which every cold start compiled.
 */
import { createHmac, randomBytes } from "node:crypto";
import type { Credentials, CredentialsSource } from "../credentials.js";
import { acsTimestamp } from "../net/acs-timestamp.js";
import { type HttpRequestError, requestText } from "../net/http-client.js";
import { rfc3986 } from "../net/percent-encode.js";

export interface PopRpcOptions {
  /** `https://nls-meta.cn-shanghai.aliyuncs.com`. */
  readonly endpoint: string;
  /** The API version: `2019-02-28` (NLS meta), `2020-11-09` (ICE). */
  readonly apiVersion: string;
  readonly credentials: CredentialsSource;
}

/**
 * A refusal from the API (`code` is its `Code`, `data` the whole answer) or a network failure (`code` is the socket's
 * error code, or `RequestTimeoutError`); `name` is `<code>Error`, as pop-core names them.
 */
export class PopRpcError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly data?: { readonly Code?: string; readonly Message?: string; readonly RequestId?: string },
    readonly statusCode?: number,
  ) {
    super(message);
    this.name = `${code}Error`;
  }
}

/** The parameters sorted and encoded, joined as `k=v&…`: the query or body, and (encoded again) what is signed. */
export function canonicalize(params: Readonly<Record<string, string>>): string {
  return Object.keys(params)
    .sort()
    .map((k) => `${rfc3986(k)}=${rfc3986(params[k]!)}`)
    .join("&");
}

export function signRpc(method: string, params: Readonly<Record<string, string>>, secret: string): string {
  return createHmac("sha1", `${secret}&`)
    .update(`${method}&${rfc3986("/")}&${rfc3986(canonicalize(params))}`)
    .digest("base64");
}

const SUCCESS_CODES = new Set(["200", "OK", "Success", "success"]);

export class PopRpcClient {
  readonly #base: string;

  constructor(private readonly opts: PopRpcOptions) {
    // As pop-core does: the endpoint, then `/`.
    this.#base = opts.endpoint.replace(/\/$/, "");
  }

  /** Signs the parameters (rotated STS credentials are read per call). */
  async signed(
    action: string,
    params: Readonly<Record<string, string | number | boolean>>,
    method: "GET" | "POST",
    now = new Date(),
    nonce = randomBytes(16).toString("hex"),
  ): Promise<Record<string, string>> {
    const source = this.opts.credentials;
    const creds: Credentials = typeof source === "function" ? await source() : source;
    const all: Record<string, string> = {
      Action: action,
      Format: "JSON",
      Timestamp: acsTimestamp(now),
      Version: this.opts.apiVersion,
      SignatureMethod: "HMAC-SHA1",
      SignatureVersion: "1.0",
      SignatureNonce: nonce,
      AccessKeyId: creds.accessKeyId,
      ...(creds.securityToken ? { SecurityToken: creds.securityToken } : {}),
    };
    for (const [k, v] of Object.entries(params)) all[k] = String(v);
    return { ...all, Signature: signRpc(method, all, creds.accessKeySecret) };
  }

  /** Calls `action`; answers the parsed JSON, or throws PopRpcError for a `Code` answer or a network failure. */
  async request<T = unknown>(
    action: string,
    params: Readonly<Record<string, string | number | boolean>> = {},
    opts: { method?: "GET" | "POST"; timeoutMs?: number } = {},
  ): Promise<T> {
    const method = opts.method ?? "GET";
    const query = canonicalize(await this.signed(action, params, method));
    const body = method === "POST" ? Buffer.from(query) : undefined;
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const { status, text } = await requestText(method === "GET" ? `${this.#base}/?${query}` : `${this.#base}/`, {
      method,
      timeoutMs,
      headers: {
        "x-acs-action": action,
        "x-acs-version": this.opts.apiVersion,
        ...(body ? { "content-type": "application/x-www-form-urlencoded" } : {}),
      },
      body,
    }).catch((error: HttpRequestError) => {
      throw new PopRpcError(error.code, `${action}: ${error.message}`);
    });
    let json: { Code?: string; Message?: string; RequestId?: string };
    try {
      json = JSON.parse(text) as typeof json;
    } catch {
      throw new PopRpcError(
        "InvalidResponse",
        `${action} answered HTTP ${status} with a body that is not JSON`,
        undefined,
        status,
      );
    }
    // A `Code` is a refusal, unless it is one of the success codes pop-core lets through (its message may echo the
    // string to sign; callers keep what they show).
    if (json.Code && !SUCCESS_CODES.has(json.Code))
      throw new PopRpcError(json.Code, `${action}: ${json.Code}`, json, status);
    return json as T;
  }
}
