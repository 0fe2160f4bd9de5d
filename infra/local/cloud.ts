/**
 * The local cloud: protocol-faithful emulators of the Alibaba services this project calls, on 127.0.0.1, which the
 * real client libraries (ali-oss, @alicloud/pop-core, ws, alibabacloud-nls) talk to unchanged.
 *
 * @example
 * const cloud = await startLocalCloud({ dataDir: await mkdtemp(join(tmpdir(), "cloud-")) });
 * const cfg = parseConfig(cloud.env());   // a Config pointing every client at the emulators
 * await cloud.stop();
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { BUDGET_APIS, type BudgetApi } from "../../lib/budget/apis.js";
import { type AccessKey, AccessKeyRegistry } from "./access-keys.js";
import { SpeechEngine, type SpeechSource } from "./audio/engine.js";
import { CosyVoiceEmulator } from "./dashscope/cosyvoice.js";
import { MinimaxEmulator } from "./dashscope/minimax.js";
import { EventBridgeEmulator } from "./eventbridge/service.js";
import { listen } from "./http-util.js";
import { IceService } from "./ice/service.js";
import { NlsGateway } from "./nls/gateway.js";
import { LongTextService } from "./nls/long-text.js";
import { nlsMetaActions } from "./nls/meta.js";
import { TokenRegistry } from "./nls/tokens.js";
import { BucketFiles } from "./oss/bucket-files.js";
import { OssFaults, type OssObserver, ossHandler } from "./oss/server.js";
import { OssAuthenticator } from "./oss/signature.js";
import { RpcVerifier } from "./pop/rpc-signature.js";
import { popHandler } from "./pop/server.js";
import { QuotaGate, type QuotaGates, type QuotaLimits } from "./quota.js";
import { RamService } from "./ram/service.js";

export interface LocalCloudOptions {
  /** Where OSS objects live; a temp dir for tests, `.local-cloud/` for `npm start`. */
  readonly dataDir: string;
  readonly region?: string;
  readonly buckets?: readonly string[];
  /** Extra AccessKeys besides the generated default one (e.g. an STS triple). */
  readonly accessKeys?: readonly AccessKey[];
  readonly tokenTtlSeconds?: number;
  readonly gateway?: { idleTimeoutMs?: number; maxConcurrent?: number; frameBytes?: number };
  /**
   * The account's quota per provider API (concurrency, calls a second), enforced as each service enforces it. Unset
   * APIs have none, except NLS's WebSocket: `gateway.maxConcurrent` (16 by default) syntheses at once.
   */
  readonly quotas?: Partial<Record<BudgetApi, QuotaLimits>>;
  /** Long-text task timing: queued for queueMs, running for runMs (plus synthesis); audio kept retentionMs. */
  readonly longText?: { queueMs?: number; runMs?: number; retentionMs?: number };
  /** A fixed DashScope API key (`npm start` prints it); tests get a random one. */
  readonly dashscopeApiKey?: string;
  /** Fixed ports for `npm start`; tests leave them 0 (ephemeral). */
  readonly ports?: {
    oss?: number;
    nlsMeta?: number;
    nlsGateway?: number;
    dashscope?: number;
    ice?: number;
    eventbridge?: number;
  };
  /** OSS: accept V1 signatures, as a bucket made before 2025-09-01 by an account made before 2025-03-01 does. */
  readonly oss?: { allowV1?: boolean };
  /** MiniMax: voices it has beyond the system voices it knows (a cloned voice's id). */
  readonly minimax?: { voices?: readonly string[] };
  /** ICE: SetEventCallback's AuthKey (signed callbacks) and how long a job stays Created. */
  readonly ice?: { authKey?: string; createdMs?: number };
  readonly engine?: SpeechSource;
  /** Fixed AccessKey pair (`npm start` uses local-ak/local-sk); tests get a random one. */
  readonly accessKey?: { readonly id: string; readonly secret: string };
}

export interface LocalCloud {
  readonly region: string;
  readonly bucket: string;
  readonly appKey: string;
  readonly accessKey: AccessKey;
  readonly credentials: AccessKeyRegistry;
  readonly urls: {
    readonly oss: string;
    readonly nlsMeta: string;
    readonly nlsGateway: string;
    readonly dashscopeWs: string;
    readonly ice: string;
    readonly eventbridge: string;
    readonly ram: string;
  };
  /** Buses, rules and targets; the function host sets where matched events are delivered. */
  readonly eventbridge: EventBridgeEmulator;
  /** RAM's roles (the service-linked role EventBridge needs to invoke FC). */
  readonly ram: RamService;
  readonly ice: IceService;
  /** The DashScope API key the emulator accepts. */
  readonly dashscopeApiKey: string;
  readonly oss: { readonly files: BucketFiles; readonly faults: OssFaults; readonly observers: Set<OssObserver> };
  readonly nls: { readonly gateway: NlsGateway; readonly tokens: TokenRegistry; readonly longText: LongTextService };
  readonly dashscope: { readonly cosyvoice: CosyVoiceEmulator; readonly minimax: MinimaxEmulator };
  readonly engine: SpeechSource;
  /** Each API's quota, as the emulators enforce it; a test may change `limits` or read `stats`. */
  readonly quotas: QuotaGates;
  /** Environment for lib/config.ts that points every client here. */
  env(): Record<string, string>;
  /** Stops, letting work under way finish; `crash` stops at once, keeping only what is already on disk (a restart test). */
  stop(opts?: { crash?: boolean }): Promise<void>;
}

export async function startLocalCloud(options: LocalCloudOptions): Promise<LocalCloud> {
  const region = options.region ?? "cn-shanghai";
  const userId = "1000000000000001";
  const accessKey: AccessKey = {
    accessKeyId: options.accessKey?.id ?? `LTAI5tLocal${randomBytes(6).toString("hex")}`,
    accessKeySecret: options.accessKey?.secret ?? randomBytes(15).toString("base64url"),
    userId,
  };
  const credentials = new AccessKeyRegistry([accessKey, ...(options.accessKeys ?? [])]);
  // The NLS project's AppKey, kept in the data directory: a restarted local cloud is the same NLS project, so the tasks
  // it kept still belong to the AppKey the functions present.
  const appKeyFile = join(options.dataDir, "nls-appkey");
  const appKey = existsSync(appKeyFile)
    ? (await readFile(appKeyFile, "utf8")).trim()
    : `local${randomBytes(6).toString("hex")}`;
  await mkdir(options.dataDir, { recursive: true });
  await writeFile(appKeyFile, appKey);
  const buckets = options.buckets ?? ["tts-local"];

  const files = new BucketFiles(`${options.dataDir}/oss`, buckets);
  await files.init();
  const faults = new OssFaults();
  const observers = new Set<OssObserver>();
  const ownsEngine = !options.engine;
  const engine: SpeechSource = options.engine ?? new SpeechEngine();
  const tokens = new TokenRegistry({ ttlSeconds: options.tokenTtlSeconds ?? 86_400 });
  const quotas = Object.fromEntries(
    BUDGET_APIS.map((api) => [
      api,
      new QuotaGate(
        options.quotas?.[api] ?? (api === "nls-ws" ? { concurrency: options.gateway?.maxConcurrent ?? 16 } : {}),
      ),
    ]),
  ) as QuotaGates;
  const gateway = new NlsGateway({
    engine,
    tokens,
    appKeys: new Map([[appKey, userId]]),
    ...options.gateway,
    quota: quotas["nls-ws"],
  });

  const dashscopeApiKey = options.dashscopeApiKey ?? `sk-local${randomBytes(12).toString("hex")}`;
  const cosyvoice = new CosyVoiceEmulator({
    engine,
    apiKeys: new Set([dashscopeApiKey]),
    quota: quotas.cosyvoice,
  });
  const oss = await listen(
    ossHandler({
      store: files,
      auth: new OssAuthenticator(credentials, { region, allowV1: options.oss?.allowV1 }),
      faults,
      region,
      observers,
    }),
    options.ports?.oss,
  );
  const ice = new IceService({ engine, oss: files, ...options.ice, quota: quotas.ice });
  const iceServer = await listen(
    popHandler({
      host: `ice.${region}.aliyuncs.com`,
      version: "2020-11-09",
      verifier: new RpcVerifier(credentials),
      product: "ice",
      region,
      actions: ice.actions(),
    }),
    options.ports?.ice,
  );
  const nlsMeta = await listen(
    popHandler({
      host: `nls-meta.${region}.aliyuncs.com`,
      version: "2019-02-28",
      verifier: new RpcVerifier(credentials),
      product: "nls",
      region,
      actions: nlsMetaActions(tokens),
    }),
    options.ports?.nlsMeta,
  );
  let gatewayBase = "";
  const longText = new LongTextService({
    engine,
    tokens,
    appKeys: new Map([[appKey, userId]]),
    dataDir: options.dataDir,
    publicUrl: () => gatewayBase,
    ...options.longText,
    quota: quotas["nls-long-text"],
  });
  const nlsGateway = await listen((req, res) => {
    if (!longText.handle(req, res)) res.writeHead(404).end();
  }, options.ports?.nlsGateway);
  gatewayBase = `http://127.0.0.1:${nlsGateway.port}`;
  await longText.restore();
  nlsGateway.server.on("upgrade", (req, socket, head) => {
    if (!gateway.handleUpgrade(req, socket, head)) socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
  });

  let dashscopeBase = "";
  const minimax = new MinimaxEmulator({
    engine,
    apiKeys: new Set([dashscopeApiKey]),
    publicUrl: () => dashscopeBase,
    ...(options.minimax?.voices ? { voices: options.minimax.voices } : {}),
    quota: quotas.minimax,
  });
  const dashscope = await listen((req, res) => {
    if (!minimax.handle(req, res)) res.writeHead(404).end();
  }, options.ports?.dashscope);
  dashscopeBase = `http://127.0.0.1:${dashscope.port}`;
  dashscope.server.on("upgrade", (req, socket, head) => {
    if (!cosyvoice.handleUpgrade(req, socket, head)) socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
  });

  const ram = new RamService();
  const ramServer = await listen(
    popHandler({
      host: "ram.aliyuncs.com",
      version: "2015-05-01",
      verifier: new RpcVerifier(credentials),
      actions: ram.actions(),
      product: "ram",
      region,
    }),
    0,
  );
  const eventbridge = new EventBridgeEmulator({
    credentials,
    accountId: userId,
    region,
    canInvokeFc: () => ram.has("AliyunServiceRoleForEventBridgeSendToFC"),
  });
  const eventbridgeServer = await listen((req, res) => eventbridge.handle(req, res), options.ports?.eventbridge);

  const urls = {
    eventbridge: `http://127.0.0.1:${eventbridgeServer.port}`,
    oss: `http://localhost:${oss.port}`,
    nlsMeta: `http://127.0.0.1:${nlsMeta.port}`,
    nlsGateway: `ws://127.0.0.1:${nlsGateway.port}/ws/v1`,
    dashscopeWs: `ws://127.0.0.1:${dashscope.port}/api-ws/v1/inference`,
    ice: `http://127.0.0.1:${iceServer.port}`,
    ram: `http://127.0.0.1:${ramServer.port}`,
  };
  return {
    region,
    bucket: buckets[0]!,
    appKey,
    accessKey,
    credentials,
    urls,
    oss: { files, faults, observers },
    nls: { gateway, tokens, longText },
    quotas,
    dashscope: { cosyvoice, minimax },
    ice,
    eventbridge,
    ram,
    dashscopeApiKey,
    engine,
    env: () => ({
      REGION: region,
      ALIBABA_CLOUD_ACCESS_KEY_ID: accessKey.accessKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: accessKey.accessKeySecret,
      NLS_APPKEY: appKey,
      NLS_GATEWAY_URL: urls.nlsGateway,
      NLS_META_ENDPOINT: urls.nlsMeta,
      NLS_LONG_TEXT_URL: `${gatewayBase}/rest/v1/tts/async`,
      // Where store may fetch audio from: the NLS emulator's audio and MiniMax's URLs.
      NLS_AUDIO_HOSTS: `127.0.0.1:${nlsGateway.port},127.0.0.1:${dashscope.port}`,
      OSS_BUCKET: buckets[0]!,
      OSS_ENDPOINT: urls.oss,
      OSS_PATH_STYLE: "true",
      // The emulator is reached at its own endpoint, never through an internal (VPC) host name.
      OSS_INTERNAL: "false",
      DASHSCOPE_API_KEY: dashscopeApiKey,
      DASHSCOPE_WS_URL: urls.dashscopeWs,
      DASHSCOPE_HTTP_URL: `${dashscopeBase}/api/v1/services/aigc/multimodal-generation/generation`,
      ICE_ENDPOINT: urls.ice,
      // For the deploy step and producers (never a function's): where EventBridge is, and the account it routes for.
      EVENTBRIDGE_ENDPOINT: urls.eventbridge,
      RAM_ENDPOINT: urls.ram,
      ALIBABA_CLOUD_ACCOUNT_ID: userId,
      ...(options.ice?.authKey ? { ICE_CALLBACK_AUTH_KEY: options.ice.authKey } : {}),
    }),
    async stop(opts: { crash?: boolean } = {}) {
      gateway.close();
      cosyvoice.close();
      if (opts.crash) longText.abandon();
      else await longText.idle();
      if (!opts.crash) await ice.idle();
      await Promise.all([
        oss.close(),
        nlsMeta.close(),
        nlsGateway.close(),
        dashscope.close(),
        iceServer.close(),
        eventbridgeServer.close(),
        ramServer.close(),
      ]);
      if (ownsEngine) await engine.close();
    },
  };
}
