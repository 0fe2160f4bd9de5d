/**
 * `npm run ram:policy`: prints the function role's least-privilege policy with this deployment's bucket, prefixes,
 * region and account filled in, ready for `aliyun ram CreatePolicy --PolicyDocument "$(npm run -s ram:policy)"`.
 * `npm run ram:deployer-policy` prints the policy of the identity that runs `npm run deploy` (deployer-policy.json).
 */
import { readFileSync } from "node:fs";

/** The functions' role policy (`policy.json`), or with `deployer` the policy of the identity that deploys. */
export function renderPolicy(values: Record<string, string>, which: "functions" | "deployer" = "functions"): unknown {
  const file = which === "deployer" ? "./deployer-policy.json" : "./policy.json";
  const template = readFileSync(new URL(file, import.meta.url), "utf8");
  const filled = template.replace(/\$\{([A-Z_]+)\}/g, (_m, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`${name} is needed to render the RAM policy`);
    return v;
  });
  return JSON.parse(filled);
}

/**
 * The values the policy is rendered with, from the deployer's environment with the functions' defaults. The account is
 * `ALIBABA_CLOUD_ACCOUNT_ID` (the variable the README exports; `ACCOUNT_ID` is still read), else `*`.
 */
export function policyValues(env: Record<string, string | undefined>): Record<string, string> {
  return {
    OSS_BUCKET: env.OSS_BUCKET ?? "",
    OSS_INPUT_PREFIX: env.OSS_INPUT_PREFIX || "input/",
    OSS_OUTPUT_PREFIX: env.OSS_OUTPUT_PREFIX || "output/",
    JOBS_PREFIX: env.JOBS_PREFIX || "jobs/",
    TTS_CACHE_PREFIX: env.TTS_CACHE_PREFIX || "cache/",
    REGION: env.REGION || "cn-shanghai",
    ACCOUNT_ID: env.ALIBABA_CLOUD_ACCOUNT_ID || env.ACCOUNT_ID || "*",
    FC_FUNCTION_PREFIX: env.FC_FUNCTION_PREFIX ?? "",
    FC_ROLE: (env.FC_ROLE || "fc-tts-pipeline").toLowerCase(),
    EVENTBRIDGE_BUS: env.EVENTBRIDGE_BUS || "tts-batches",
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const env = process.env;
  // A policy for no bucket would read `acs:oss:*:*:/input/*`: refuse instead of printing it.
  if (!env.OSS_BUCKET) {
    process.stderr.write("OSS_BUCKET is needed to render the RAM policy (the bucket the functions may use)\n");
    process.exit(1);
  }
  if (!env.ALIBABA_CLOUD_ACCOUNT_ID && !env.ACCOUNT_ID)
    process.stderr.write("ALIBABA_CLOUD_ACCOUNT_ID is not set: the policy names functions of any account (*)\n");
  const which = process.argv.includes("--deployer") ? "deployer" : "functions";
  console.log(JSON.stringify(renderPolicy(policyValues(env), which), null, 2));
}
