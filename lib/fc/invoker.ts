/**
 * The Invoker port on Function Compute 3.0: InvokeFunction with `x-fc-invocation-type: Async`. FC then owns the queue,
 * the retries (maxAsyncRetryAttempts) and the destinations configured in s.yaml.
 *
 * One signed POST over the shared HTTP path, as the FC 3.0 SDK (`@alicloud/fc20230330`) sends it: the same headers,
 * the same ACS3-HMAC-SHA256 signature (tested equal to the SDK's for the same inputs). The SDK and the OpenAPI core it
 * brings are about 1 MB of bundle, which took 210–320 ms to load on an instance's first invocation: the first job a
 * cold `speech` instance created, the first callback a cold `callback` instance took, each batch dispatcher's first
 * successor.
 */
import { createHash, createHmac, randomUUID } from "node:crypto";
import type { Credentials } from "../credentials.js";
import { UpstreamError } from "../errors.js";
import type { Invoker } from "../invoke.js";
import { acsTimestamp } from "../net/acs-timestamp.js";
import { requestText } from "../net/http-client.js";
import { rfc3986 } from "../net/percent-encode.js";

export interface FcInvokerOptions {
  /** `<accountId>.<region>.fc.aliyuncs.com`, or the internal `<accountId>.<region>-internal.fc.aliyuncs.com`. */
  readonly endpoint: string;
  readonly protocol?: "https" | "http";
  readonly credentials: () => Credentials;
  /** Prefix of the deployed function names (s.yaml functionName = prefix + logical name). */
  readonly functionPrefix?: string;
  readonly timeoutMs?: number;
  /** The request's time and nonce (tests pin them to compare with the SDK's signature). */
  readonly now?: () => Date;
  readonly nonce?: () => string;
}

const API_VERSION = "2023-03-30";

const sha256Hex = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");

/**
 * The ACS3-HMAC-SHA256 Authorization of Alibaba Cloud's V3 signature, as the OpenAPI core computes it: the canonical
 * request covers the method, the path, the sorted query, every `x-acs-*` header plus `host` and `content-type`
 * (lower-cased, trimmed, sorted), their names, and the payload's SHA-256.
 */
export function acs3Authorization(req: {
  readonly method: string;
  readonly pathname: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly payloadSha256: string;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
}): string {
  const query = Object.keys(req.query)
    .sort()
    .map((k) => `${k}=${rfc3986(req.query[k]!)}`)
    .join("&");
  const signed = new Map<string, string[]>();
  for (const [name, value] of Object.entries(req.headers)) {
    const key = name.toLowerCase();
    if (key.startsWith("x-acs-") || key === "host" || key === "content-type")
      signed.set(key, [...(signed.get(key) ?? []), value.trim()]);
  }
  const names = [...signed.keys()].sort();
  const canonicalHeaders = names.map((k) => `${k}:${signed.get(k)!.sort().join(",")}\n`).join("");
  const canonicalRequest = [
    req.method,
    req.pathname.replace(/\+/g, "%20").replace(/\*/g, "%2A").replace(/%7E/g, "~"),
    query,
    canonicalHeaders,
    names.join(";"),
    req.payloadSha256,
  ].join("\n");
  const stringToSign = `ACS3-HMAC-SHA256\n${sha256Hex(canonicalRequest)}`;
  const signature = createHmac("sha256", req.accessKeySecret).update(stringToSign).digest("hex");
  return `ACS3-HMAC-SHA256 Credential=${req.accessKeyId},SignedHeaders=${names.join(";")},Signature=${signature}`;
}

export class FcInvoker implements Invoker {
  constructor(private readonly opts: FcInvokerOptions) {}

  async invokeAsync(functionName: string, payload: unknown): Promise<void> {
    const name = `${this.opts.functionPrefix ?? ""}${functionName}`;
    const body = Buffer.from(JSON.stringify(payload));
    const pathname = `/${API_VERSION}/functions/${rfc3986(name)}/invocations`;
    const c = this.opts.credentials();
    const headers: Record<string, string> = {
      // Signed as sent: node would otherwise write its own Host (with the port) after we signed ours.
      host: this.opts.endpoint,
      "x-acs-version": API_VERSION,
      "x-acs-action": "InvokeFunction",
      // x-acs-date has the POP RPC Timestamp's format: seconds, no fraction.
      "x-acs-date": acsTimestamp(this.opts.now?.() ?? new Date()),
      "x-acs-signature-nonce": this.opts.nonce?.() ?? randomUUID(),
      accept: "application/json",
      "x-fc-invocation-type": "Async",
      "content-type": "application/octet-stream",
      "x-acs-content-sha256": sha256Hex(body),
    };
    if (c.securityToken) {
      headers["x-acs-accesskey-id"] = c.accessKeyId;
      headers["x-acs-security-token"] = c.securityToken;
    }
    headers.authorization = acs3Authorization({
      method: "POST",
      pathname,
      query: {},
      headers,
      payloadSha256: headers["x-acs-content-sha256"]!,
      accessKeyId: c.accessKeyId,
      accessKeySecret: c.accessKeySecret,
    });
    let answer: { status: number; text: string };
    try {
      answer = await requestText(`${this.opts.protocol ?? "https"}://${this.opts.endpoint}${pathname}`, {
        method: "POST",
        headers,
        body,
        timeoutMs: this.opts.timeoutMs ?? 10_000,
      });
    } catch (error) {
      const code = (error as { code?: string }).code ?? "NetworkError";
      throw new UpstreamError({
        provider: "fc",
        code,
        upstreamMessage: `async invocation of ${name} failed (${code})`,
        retryable: true,
        cause: error,
      });
    }
    if (answer.status < 300) return;
    // FC's errors are JSON: {"Code":"FunctionNotFound","Message":"…","RequestId":"…"}.
    let code = `FC${answer.status}`;
    try {
      code = String((JSON.parse(answer.text) as { Code?: unknown }).Code ?? code);
    } catch {}
    throw new UpstreamError({
      provider: "fc",
      code,
      upstreamMessage: `async invocation of ${name} failed (${code}, HTTP ${answer.status})`,
      retryable: answer.status >= 500 || answer.status === 429,
    });
  }
}
