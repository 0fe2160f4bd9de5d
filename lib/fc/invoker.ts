/**
 * The Invoker port on Function Compute 3.0: InvokeFunction with `x-fc-invocation-type: Async` through the FC 3.0 SDK
 * (`@alicloud/fc20230330`; `@alicloud/fc2` speaks only FC 2.0's service/function API). FC then owns the queue, the
 * retries (maxAsyncRetryAttempts) and the destinations configured in s.yaml.
 */
import { Readable } from "node:stream";
import FcModule, { InvokeFunctionHeaders, InvokeFunctionRequest } from "@alicloud/fc20230330";
import type { Credentials } from "../credentials.js";
import { ProviderError } from "../errors.js";
import type { Invoker } from "../invoke.js";

export interface FcInvokerOptions {
  /** `<accountId>.<region>.fc.aliyuncs.com`, or the internal `<accountId>.<region>-internal.fc.aliyuncs.com`. */
  readonly endpoint: string;
  readonly protocol?: "https" | "http";
  readonly credentials: () => Credentials;
  /** Prefix of the deployed function names (s.yaml functionName = prefix + logical name). */
  readonly functionPrefix?: string;
}

// The SDK is CommonJS with `exports.default = Client`: Node's ESM interop gives the exports object as the default
// import (the class is its `.default`), while bundlers and vitest hand over the class itself.
interface FcClient {
  invokeFunctionWithOptions(
    name: string,
    request: InvokeFunctionRequest,
    headers: InvokeFunctionHeaders,
    runtime: object,
  ): Promise<unknown>;
}
const sdk = FcModule as unknown as (new (config: object) => FcClient) | { default: new (config: object) => FcClient };
const Client = typeof sdk === "function" ? sdk : sdk.default;

export class FcInvoker implements Invoker {
  #client: { key: string; client: FcClient } | undefined;

  constructor(private readonly opts: FcInvokerOptions) {}

  /** One client per credential triple: FC role credentials rotate, and a stale STS token is refused. */
  #clientFor(c: Credentials): FcClient {
    const key = `${c.accessKeyId}\n${c.securityToken ?? ""}`;
    if (this.#client?.key !== key) {
      this.#client = {
        key,
        client: new Client({
          accessKeyId: c.accessKeyId,
          accessKeySecret: c.accessKeySecret,
          securityToken: c.securityToken,
          endpoint: this.opts.endpoint,
          protocol: this.opts.protocol ?? "https",
        }),
      };
    }
    return this.#client.client;
  }

  async invokeAsync(functionName: string, payload: unknown): Promise<void> {
    const client = this.#clientFor(this.opts.credentials());
    const name = `${this.opts.functionPrefix ?? ""}${functionName}`;
    try {
      await client.invokeFunctionWithOptions(
        name,
        new InvokeFunctionRequest({ body: Readable.from([Buffer.from(JSON.stringify(payload))]) }),
        new InvokeFunctionHeaders({ xFcInvocationType: "Async" }),
        {},
      );
    } catch (error) {
      const e = error as { code?: string; statusCode?: number; data?: { statusCode?: number } };
      const status = e.statusCode ?? e.data?.statusCode ?? 0;
      throw new ProviderError({
        provider: "fc",
        code: e.code ?? `FC${status}`,
        upstreamMessage: `async invocation of ${name} failed (${e.code ?? status})`,
        retryable: status >= 500 || status === 429 || status === 0,
        cause: error,
      });
    }
  }
}
