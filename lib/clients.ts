/**
 * Builds the shared clients from the configuration, once per instance, so every function entry wires them the
 * same way and tests can point the same wiring at the local cloud through the environment.
 */
import { type Config, nlsEndpoints } from "./config.js";
import type { Credentials } from "./credentials.js";
import { CosyVoiceSynthesizer } from "./providers/dashscope/cosyvoice.js";
import { MinimaxClient } from "./providers/dashscope/minimax.js";
import { IceClient } from "./providers/ice/client.js";
import { NlsLongTextClient } from "./providers/nls/long-text.js";
import { NlsSynthesizer } from "./providers/nls/synthesizer.js";
import { NlsTokenClient } from "./providers/nls/token.js";
import { OssStorage } from "./storage/oss.js";

export interface Clients {
  readonly tokens: NlsTokenClient;
  readonly nls: NlsSynthesizer;
  readonly longText: NlsLongTextClient;
  readonly ice: IceClient;
  readonly storage: OssStorage;
  /** Present when DASHSCOPE_API_KEY is configured. */
  readonly cosyvoice?: CosyVoiceSynthesizer;
  /** Present when DASHSCOPE_API_KEY is configured. */
  readonly minimax?: MinimaxClient;
}

/** The credentials the configuration holds: on FC, the role's as the environment had them when the instance started. */
export function credentialsOf(config: Config): Credentials {
  return {
    accessKeyId: config.ALIBABA_CLOUD_ACCESS_KEY_ID,
    accessKeySecret: config.ALIBABA_CLOUD_ACCESS_KEY_SECRET,
    ...(config.ALIBABA_CLOUD_SECURITY_TOKEN ? { securityToken: config.ALIBABA_CLOUD_SECURITY_TOKEN } : {}),
  };
}

/**
 * The clients, each reading `credentials` for every request it signs: on FC, the role's current STS credentials
 * (lib/credentials.ts RoleCredentials), which FC hands over with each invocation; elsewhere, fixed ones.
 */
export function createClients(config: Config, credentials: () => Credentials = () => credentialsOf(config)): Clients {
  const endpoints = nlsEndpoints(config);
  const tokens = new NlsTokenClient({ endpoint: endpoints.meta, credentials });
  const creds = credentials();
  return {
    tokens,
    nls: new NlsSynthesizer({
      url: endpoints.gateway,
      appKey: config.NLS_APPKEY,
      tokens,
      warmSockets: config.NLS_WARM_SOCKETS,
    }),
    longText: new NlsLongTextClient({ url: endpoints.longText, appKey: config.NLS_APPKEY, tokens }),
    ice: new IceClient({ endpoint: config.ICE_ENDPOINT ?? `https://ice.${config.REGION}.aliyuncs.com`, credentials }),
    ...(config.DASHSCOPE_API_KEY
      ? {
          cosyvoice: new CosyVoiceSynthesizer({
            url: config.DASHSCOPE_WS_URL,
            apiKey: config.DASHSCOPE_API_KEY,
            workspace: config.DASHSCOPE_WORKSPACE,
            extraVoices: config.COSYVOICE_VOICES,
          }),
          minimax: new MinimaxClient({ url: config.DASHSCOPE_HTTP_URL, apiKey: config.DASHSCOPE_API_KEY }),
        }
      : {}),
    storage: new OssStorage({
      config: {
        bucket: config.OSS_BUCKET,
        region: `oss-${config.REGION}`,
        accessKeyId: creds.accessKeyId,
        accessKeySecret: creds.accessKeySecret,
        securityToken: creds.securityToken,
        endpoint: config.OSS_ENDPOINT,
        internal: config.OSS_INTERNAL,
        publicEndpoint: config.OSS_PUBLIC_ENDPOINT,
        pathStyle: config.OSS_PATH_STYLE,
        refreshCredentials: credentials,
      },
    }),
  };
}
