// Minimal types for @alicloud/pop-core 1.8 (it ships none): only the RPC client this project uses.
declare module "@alicloud/pop-core" {
  export interface RPCClientOptions {
    accessKeyId?: string;
    accessKeySecret?: string;
    securityToken?: string;
    credentialsProvider?: {
      getCredentials(): Promise<{ accessKeyId: string; accessKeySecret: string; securityToken?: string }>;
    };
    endpoint: string;
    apiVersion: string;
    opts?: Record<string, unknown>;
  }
  export interface RequestOptions {
    method?: "GET" | "POST";
    timeout?: number;
    formatParams?: boolean;
    headers?: Record<string, string>;
  }
  export class RPCClient {
    constructor(options: RPCClientOptions);
    request<T = unknown>(
      action: string,
      params?: Record<string, string | number | boolean>,
      options?: RequestOptions,
    ): Promise<T>;
  }
  const Core: { RPCClient: typeof RPCClient };
  export default Core;
}
