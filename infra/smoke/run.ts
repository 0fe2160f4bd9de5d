/**
 * `npm run smoke`: after `npm run deploy`, with the same environment plus the two function URLs `s info` prints
 * (SMOKE_STREAM_URL, SMOKE_SPEECH_URL), drives the deployment end to end and prints one line per check. Exits 1 when
 * any check fails. SMOKE_PROVIDERS (default: nls,ice, and minimax with DASHSCOPE_API_KEY) and SMOKE_TIMEOUT_SECONDS
 * (default 600) tune it; SMOKE_WEBHOOK_URL (a receiver you can watch) makes the batch check wait for its webhook.
 */
import { type ProviderName, ProviderNameSchema } from "../../lib/provider-registry.js";
import { batchRoute } from "../deploy/batch-route.js";
import { formatResults, runSmoke } from "./checks.js";

const env = process.env;
const missing = [
  "SMOKE_STREAM_URL",
  "SMOKE_SPEECH_URL",
  "TTS_API_KEYS",
  "OSS_BUCKET",
  "ALIBABA_CLOUD_ACCESS_KEY_ID",
  "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
  "ALIBABA_CLOUD_ACCOUNT_ID",
].filter((n) => !env[n]);
if (missing.length > 0) {
  process.stderr.write(
    `smoke: missing ${missing.join(", ")} (the deployment's environment, and the stream and speech URLs \`s info\` prints)\n`,
  );
  process.exit(2);
}
const region = env.REGION || "cn-shanghai";
const providers = (env.SMOKE_PROVIDERS ?? `nls,ice${env.DASHSCOPE_API_KEY ? ",minimax" : ""}`)
  .split(",")
  .map((p) => p.trim())
  .filter((p): p is ProviderName => ProviderNameSchema.safeParse(p).success);
const results = await runSmoke({
  streamUrl: env.SMOKE_STREAM_URL!.replace(/\/$/, ""),
  speechUrl: env.SMOKE_SPEECH_URL!.replace(/\/$/, ""),
  apiKey: env.TTS_API_KEYS!.split(",")[0]!.trim(),
  providers,
  oss: {
    bucket: env.OSS_BUCKET!,
    region,
    endpoint: env.OSS_ENDPOINT || undefined,
    accessKeyId: env.ALIBABA_CLOUD_ACCESS_KEY_ID!,
    accessKeySecret: env.ALIBABA_CLOUD_ACCESS_KEY_SECRET!,
    securityToken: env.ALIBABA_CLOUD_SECURITY_TOKEN,
    pathStyle: env.OSS_PATH_STYLE === "true",
  },
  inputPrefix: env.OSS_INPUT_PREFIX || "input/",
  outputPrefix: env.OSS_OUTPUT_PREFIX || "output/",
  eventbridge: {
    endpoint: env.EVENTBRIDGE_ENDPOINT || `${env.ALIBABA_CLOUD_ACCOUNT_ID}.eventbridge.${region}.aliyuncs.com`,
    bus: batchRoute(env).bus,
  },
  timeoutMs: Number(env.SMOKE_TIMEOUT_SECONDS ?? 600) * 1000,
  ...(env.SMOKE_WEBHOOK_URL ? { webhookUrl: env.SMOKE_WEBHOOK_URL } : {}),
});
process.stdout.write(`${formatResults(results)}\n`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
