/**
 * The local function host: reads s.yaml and runs each function's real entry on this machine.
 * HTTP-triggered functions and the custom-runtime server sit behind one router (longest path prefix wins); OSS
 * triggers fire from the OSS emulator with s.yaml's prefix/suffix filters; batch events travel the EventBridge
 * emulator's bus and rule (the ones `npm run deploy` creates); timers tick; async invocations run with retries as FC's
 * queue would. Each function runs with exactly the environment s.yaml gives it. Tests use `invoke`, `trigger` and `idle` to drive and await all of it.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { FcContext } from "../../functions/_fc/context.js";
import { type Clients, createClients, credentialsOf } from "../../lib/clients.js";
import { type Config, parseConfig } from "../../lib/config.js";
import { type Credentials, RoleCredentials } from "../../lib/credentials.js";
import { rawHttpError, requestUrl } from "../../lib/http/boundary.js";
import type { Invoker } from "../../lib/invoke.js";
import type { Logger } from "../../lib/log.js";
import { createJobRuntime, type JobRuntime } from "../../lib/runtime.js";
import { batchRoute } from "../deploy/batch-route.js";
import { readResources } from "../deploy/s-yaml.js";
import { policyValues, renderPolicy } from "../ram/render.js";
import { AsyncInvocations, type AsyncInvokeConfig } from "./async-invocations.js";
import type { LocalCloud } from "./cloud.js";
import { customRuntime, notStarted } from "./front-end.js";
import { listen } from "./http-util.js";
import { PendingWork } from "./pending.js";
import { PolicyDocumentSchema } from "./ram/policy.js";
import { LocalRoles } from "./roles.js";
import { resolveStartCommand } from "./runtimes.js";
import { eventBridgeRoute, ossTriggers, timerTriggers } from "./triggers.js";

export interface LocalFunction {
  /** Path prefixes the function serves over HTTP; the longest match wins. */
  readonly paths?: readonly string[];
  request?(req: IncomingMessage, res: ServerResponse): void;
  upgrade?(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Runs the function's handler with an event (async invocation, OSS or timer trigger) and FC's context. */
  invoke?(event: unknown, context?: FcContext): Promise<unknown>;
  close?(): Promise<void>;
}

export interface LocalPlatform {
  readonly config: Config;
  readonly env: Record<string, string>;
  readonly log: Logger;
  readonly clients: Clients;
  readonly invoker: Invoker;
  /** The role's credentials as the function last received them (its clients sign with these). */
  readonly credentials: RoleCredentials;
  /** What FC puts in an invocation's context besides its request id: the role's current credentials. */
  context(): Omit<FcContext, "requestId">;
  /** The job runtime, built on first use (functions that need no jobs never require CALLBACK_SECRET). */
  jobs(): JobRuntime;
}

interface FunctionModule {
  mount(platform: LocalPlatform): LocalFunction;
}

interface Trigger {
  readonly triggerName: string;
  readonly triggerType: string;
  readonly triggerConfig?: {
    events?: string[];
    filter?: { key?: { prefix?: string; suffix?: string } };
    cronExpression?: string;
    payload?: string;
  };
}

const root = new URL("../../", import.meta.url);

/** The fc3 resources of s.yaml, with its expressions resolved from `env` (the user's environment, as `s` reads it). */
export function readFunctions(
  env: Record<string, string | undefined> = {},
  file?: string,
): Array<{
  resource: string;
  functionName: string;
  runtime: string;
  customRuntimeConfig?: { command?: string[]; args?: string[] };
  role?: string;
  asyncInvokeConfig?: AsyncInvokeConfig;
  triggers: Trigger[];
  environment: Record<string, string>;
}> {
  return Object.entries(readResources(env, file)).map(([resource, props]) => ({
    resource,
    functionName: String(props.functionName ?? resource),
    runtime: String(props.runtime ?? ""),
    customRuntimeConfig: props.customRuntimeConfig as { command?: string[]; args?: string[] } | undefined,
    role: props.role === undefined ? undefined : String(props.role),
    asyncInvokeConfig: props.asyncInvokeConfig as AsyncInvokeConfig | undefined,
    triggers: (props.triggers as Trigger[] | undefined) ?? [],
    environment: Object.fromEntries(
      Object.entries((props.environmentVariables as Record<string, unknown> | undefined) ?? {}).map(([k, v]) => [
        k,
        String(v),
      ]),
    ),
  }));
}

/** Function Compute's limit on one function's triggers (docs/sources.md). */
export const MAX_TRIGGERS_PER_FUNCTION = 10;

/**
 * Exactly the environment a deployed function gets: its `environmentVariables` as s.yaml renders them from the user's
 * environment (an empty value is unset, as `${env('X', '')}` means), plus what FC provides: its name and its role's
 * credentials as they were when the instance started. Nothing else: a variable a code path needs and the function's
 * s.yaml entry lacks is missing here too.
 */
export function functionEnvironment(
  fn: { functionName: string; environment: Record<string, string> },
  credentials: Credentials | undefined,
): Record<string, string> {
  const env: Record<string, string> = { FC_FUNCTION_NAME: fn.functionName };
  if (credentials) {
    env.ALIBABA_CLOUD_ACCESS_KEY_ID = credentials.accessKeyId;
    env.ALIBABA_CLOUD_ACCESS_KEY_SECRET = credentials.accessKeySecret;
    if (credentials.securityToken) env.ALIBABA_CLOUD_SECURITY_TOKEN = credentials.securityToken;
  }
  for (const [k, v] of Object.entries(fn.environment)) if (v !== "") env[k] = v;
  return env;
}

export interface FunctionHost {
  readonly url: string;
  readonly port: number;
  readonly functions: readonly string[];
  readonly platform: LocalPlatform;
  /** Runs a function's handler now and returns its result (what a synchronous invocation would). */
  invoke(name: string, event: unknown): Promise<unknown>;
  /** Fires a timer trigger as FC would. */
  trigger(name: string): Promise<unknown>;
  /** Resolves when every queued async invocation (and its retries) has finished; true when there was any. */
  idle(): Promise<boolean>;
  stop(): Promise<void>;
}

export async function startFunctionHost(opts: {
  env: Record<string, string>;
  log: Logger;
  port?: number;
  cloud?: LocalCloud;
  timerMs?: number;
  /** Overrides every function's maxAsyncRetryAttempts (tests that want a failure to be final at once). */
  asyncRetries?: number;
  /** Another s.yaml (tests of the wiring itself). */
  sYaml?: string;
  /** How long the roles' STS credentials live (15 minutes unless a test wants them short). */
  credentialTtlMs?: number;
  /** Another role policy than the one `npm run ram:policy` renders (tests of the contract itself). */
  ramPolicy?: unknown;
}): Promise<FunctionHost> {
  const mounted = new Map<string, LocalFunction>();
  const route = (req: IncomingMessage): LocalFunction | undefined => {
    const path = requestUrl(req)?.pathname;
    if (path === undefined) return undefined;
    let best: { fn: LocalFunction; length: number } | undefined;
    for (const fn of mounted.values())
      for (const p of fn.paths ?? [])
        if (path.startsWith(p) && p.length > (best?.length ?? -1)) best = { fn, length: p.length };
    return best?.fn;
  };
  // The port opens first (the callback URL names it), but nothing is routed until every function is mounted: a
  // request that arrives meanwhile waits, rather than getting a 404 from a half-started host.
  let started!: () => void;
  const mountedAll = new Promise<void>((resolve) => {
    started = resolve;
  });
  const server = await listen(async (req, res) => {
    await mountedAll;
    const fn = route(req);
    if (fn?.request) fn.request(req, res);
    else
      res
        .writeHead(404, { "content-type": "application/json" })
        .end('{"error":{"code":"NotFound","message":"no function serves this path"}}');
  }, opts.port ?? 0);
  server.server.on("upgrade", async (req, socket, head) => {
    // The same boundary FC's front end gives a function: a bad upgrade request is answered, never thrown.
    socket.on("error", () => undefined);
    await mountedAll;
    try {
      if (!route(req)?.upgrade?.(req, socket, head))
        socket.end(rawHttpError(404, "NotFound", "no function serves this path"));
    } catch (error) {
      opts.log.error("upgrade failed", { error });
      socket.destroy();
    }
  });

  // The user's environment, as `s deploy` would read it. Callbacks need a host name, not an IP (seed 003), so the local
  // callback URL uses localhost.
  const userEnv: Record<string, string> = {
    CALLBACK_BASE_URL: `http://localhost:${server.port}`,
    CALLBACK_SECRET: randomBytes(24).toString("base64url"),
    ...opts.env,
  };
  const pending = new PendingWork();
  const functions = readFunctions(userEnv, opts.sYaml);
  // RAM: every function's role has the policy `npm run ram:policy` renders for this environment, and its STS
  // credentials expire. Without a local cloud (no emulator to authorize anything) functions use the user's key.
  const accountId = opts.cloud?.env().ALIBABA_CLOUD_ACCOUNT_ID ?? "0";
  const policy = PolicyDocumentSchema.parse(
    opts.ramPolicy ?? renderPolicy(policyValues({ ...userEnv, ALIBABA_CLOUD_ACCOUNT_ID: accountId })),
  );
  const roles = opts.cloud
    ? new LocalRoles({ store: opts.cloud.credentials, userId: accountId, ttlMs: opts.credentialTtlMs ?? 15 * 60_000 })
    : undefined;
  const userKey = userEnv.ALIBABA_CLOUD_ACCESS_KEY_ID
    ? {
        accessKeyId: userEnv.ALIBABA_CLOUD_ACCESS_KEY_ID,
        accessKeySecret: userEnv.ALIBABA_CLOUD_ACCESS_KEY_SECRET ?? "",
        ...(userEnv.ALIBABA_CLOUD_SECURITY_TOKEN ? { securityToken: userEnv.ALIBABA_CLOUD_SECURITY_TOKEN } : {}),
      }
    : undefined;
  /** The credentials FC hands `f` now: its role's, fresh; none for a function without a role. */
  const roleCredentials = (f: { role?: string }): Credentials | undefined =>
    f.role === undefined ? undefined : roles ? roles.credentials({ name: f.role, policy }) : userKey;

  const invoke = async (name: string, event: unknown): Promise<unknown> => {
    const fn = mounted.get(name);
    if (!fn?.invoke) throw new Error(`function ${name} cannot be invoked with an event`);
    const f = functions.find((x) => x.resource === name);
    return fn.invoke(event, { requestId: `1-${randomUUID()}`, credentials: f && roleCredentials(f) });
  };
  // FC's async invocation: payload limit, RAM, retries, event age and destinations, as s.yaml configures each function.
  const asyncInvocations = new AsyncInvocations({
    region: String(userEnv.REGION ?? "cn-shanghai"),
    accountId,
    targets: new Map(
      functions.map((f) => [
        f.resource,
        {
          resource: f.resource,
          functionName: f.functionName,
          config: f.asyncInvokeConfig,
          policy: f.role ? policy : undefined,
        },
      ]),
    ),
    run: invoke,
    pending,
    log: opts.log,
    retries: opts.asyncRetries,
  });
  /** FC's own triggers (timers, OSS, EventBridge's delivery) invoke through the platform, not a function's role. */
  const invoker: Invoker = { invokeAsync: (name, payload) => asyncInvocations.invoke(name, payload) };

  // Each function gets its own platform, built from exactly its own environment.
  const platforms = new Map<string, LocalPlatform>();
  for (const f of functions) {
    const env = functionEnvironment(f, roleCredentials(f));
    const log = opts.log.child({ function: f.functionName });
    const config = parseConfig(env);
    const credentials = new RoleCredentials(credentialsOf(config));
    const clients = createClients(config, credentials.current);
    // Calls another function as this one: its role must allow it (without a local cloud nothing checks RAM).
    const caller = roles ? { name: f.functionName, policy: f.role ? policy : undefined } : undefined;
    const fnInvoker: Invoker = { invokeAsync: (name, payload) => asyncInvocations.invoke(name, payload, caller) };
    let jobRuntime: JobRuntime | undefined;
    platforms.set(f.resource, {
      config,
      env,
      log,
      clients,
      invoker: fnInvoker,
      credentials,
      context: () => ({ credentials: roleCredentials(f) }),
      jobs: () => (jobRuntime ??= createJobRuntime(config, clients, fnInvoker, log, { functionName: f.resource })),
    });
  }
  for (const f of functions) {
    // FC refuses an eleventh trigger on one function ("You can create up to 10 triggers for a single function").
    if (f.triggers.length > MAX_TRIGGERS_PER_FUNCTION)
      throw new Error(
        `s.yaml gives ${f.functionName} ${f.triggers.length} triggers; Function Compute takes at most ${MAX_TRIGGERS_PER_FUNCTION} per function`,
      );
    const entry = new URL(`functions/${f.resource}/local.ts`, root);
    if (!existsSync(entry))
      throw new Error(`s.yaml declares ${f.resource}, but functions/${f.resource}/local.ts does not exist`);
    const mod = (await import(entry.href)) as FunctionModule;
    const local = mod.mount(platforms.get(f.resource)!);
    // A custom runtime starts only if its image (and layers) has the start command: FC answers FunctionNotStarted.
    const start = resolveStartCommand({
      runtime: f.runtime,
      command: f.customRuntimeConfig?.command,
      environment: f.environment,
    });
    if (!start.ok) {
      opts.log.error("function not started", { function: f.functionName, code: start.code, reason: start.reason });
      await local.close?.();
      mounted.set(f.resource, notStarted(local.paths, `${f.functionName}: ${start.reason}`));
    } else if (f.runtime.startsWith("custom"))
      mounted.set(
        f.resource,
        customRuntime(local, () => roleCredentials(f)),
      );
    else mounted.set(f.resource, local);
  }
  // Tests look into the jobs' state through one job function's platform (they all share one environment in s.yaml).
  const platform = platforms.get("speech") ?? platforms.values().next().value!;
  const config = platform.config;

  const offOss = opts.cloud
    ? ossTriggers({ functions, cloud: opts.cloud, invoker, region: config.REGION, log: opts.log })
    : () => undefined;
  if (opts.cloud)
    await eventBridgeRoute({
      functions,
      cloud: opts.cloud,
      invoker,
      invoke,
      route: batchRoute(userEnv),
      region: config.REGION,
    });
  const timers = timerTriggers({ functions, invoker, everyMs: opts.timerMs, log: opts.log });

  started();
  return {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port,
    functions: [...mounted.keys()],
    platform,
    invoke,
    trigger: (name) => invoke(name, timers.event(name)),
    idle: () => pending.idle(),
    async stop() {
      timers.stop();
      offOss();
      await pending.idle();
      await Promise.all([...mounted.values()].map((fn) => fn.close?.()));
      await server.close();
    },
  };
}
