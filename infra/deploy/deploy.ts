/**
 * `npm run deploy`: one command from a fresh account to a working deployment, each step's facts in docs/sources.md.
 * 1. preflight: every problem with the environment at once;
 * 2. build: one bundle per function;
 * 3. `s deploy -y`. The functions need CALLBACK_BASE_URL, the callback function's public URL, which exists only once
 *    its HTTP trigger does. Set by you, it is used as it is; with TTS_DOMAIN on HTTPS it is `https://<TTS_DOMAIN>`
 *    (s.domain.yaml routes /callbacks/ to callback); otherwise the first deploy runs without it, reads the trigger's
 *    public URL from FC (GetTrigger: `httpTrigger.urlInternet`) and deploys once more with it, so jobs are followed by
 *    their providers' callbacks from the first job on, not only by reconcile's polling;
 * 4. the custom domain (s.domain.yaml) when TTS_DOMAIN is set;
 * 5. EventBridge's service-linked role for FC, then the batch bus, its rule and its target.
 */
import { spawn } from "node:child_process";
import { knownCallbackBase } from "./callback-base.js";
import { preflight } from "./preflight.js";

export interface DeploySteps {
  /** Runs a command with `env`; rejects when it fails. */
  run(command: string, args: readonly string[], env: Record<string, string | undefined>): Promise<void>;
  /** The public URL of the callback function's HTTP trigger, as FC reports it. */
  callbackTriggerUrl(env: Record<string, string | undefined>): Promise<string>;
  log(line: string): void;
}

export async function deploy(env: Record<string, string | undefined>, steps: DeploySteps): Promise<void> {
  const problems = preflight(env);
  if (problems.length > 0)
    throw new Error(`Not ready to deploy; fix these first:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  await steps.run("npm", ["run", "-s", "build"], env);
  let known = knownCallbackBase(env);
  await steps.run("s", ["deploy", "-y"], known ? { ...env, CALLBACK_BASE_URL: known } : env);
  if (!known) {
    known = (await steps.callbackTriggerUrl(env)).replace(/\/$/, "");
    steps.log(`CALLBACK_BASE_URL=${known} (the callback function's HTTP trigger); deploying again with it`);
    await steps.run("s", ["deploy", "-y"], { ...env, CALLBACK_BASE_URL: known });
    steps.log(`set CALLBACK_BASE_URL=${known} in your environment to deploy in one pass next time`);
  }
  if (env.TTS_DOMAIN) await steps.run("s", ["deploy", "-y", "-t", "s.domain.yaml"], env);
  await steps.run("npx", ["tsx", "infra/deploy/eventbridge.ts", "up"], env);
}

/** FC 3.0 GetTrigger through the official SDK (a deploy-time tool, never bundled into a function). */
async function callbackTriggerUrl(env: Record<string, string | undefined>): Promise<string> {
  const { default: FcModule } = await import("@alicloud/fc20230330");
  const { $OpenApiUtil } = await import("@alicloud/openapi-core");
  const Client = ((FcModule as unknown as { default?: unknown }).default ?? FcModule) as new (
    config: InstanceType<typeof $OpenApiUtil.Config>,
  ) => { getTrigger(fn: string, trigger: string): Promise<{ body?: { httpTrigger?: { urlInternet?: string } } }> };
  const client = new Client(
    new $OpenApiUtil.Config({
      accessKeyId: env.ALIBABA_CLOUD_ACCESS_KEY_ID,
      accessKeySecret: env.ALIBABA_CLOUD_ACCESS_KEY_SECRET,
      securityToken: env.ALIBABA_CLOUD_SECURITY_TOKEN,
      endpoint: `${env.ALIBABA_CLOUD_ACCOUNT_ID}.${env.REGION || "cn-shanghai"}.fc.aliyuncs.com`,
    }),
  );
  const url = (await client.getTrigger(`${env.FC_FUNCTION_PREFIX ?? ""}callback`, "http")).body?.httpTrigger
    ?.urlInternet;
  if (!url) throw new Error("FC reported no public URL for callback's HTTP trigger (is disableURLInternet set?)");
  return url;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    await deploy(process.env, {
      run: (command, args, env) =>
        new Promise((resolve, reject) => {
          const child = spawn(command, args, { env: env as NodeJS.ProcessEnv, stdio: "inherit" });
          child.on("error", reject);
          child.on("exit", (code) =>
            code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} exited ${code}`)),
          );
        }),
      callbackTriggerUrl,
      log: (line) => process.stdout.write(`${line}\n`),
    });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
}
