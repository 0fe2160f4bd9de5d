/**
 * `npm run preflight` (the first step of `npm run deploy`): checks the environment a deployment is made from and
 * prints every problem at once, instead of `s deploy` failing half-way. Each function's environment is rendered from
 * s.yaml as `s` will render it, and parsed by the same configuration schema the function parses at cold start; on top
 * of that, what only a deployment needs: an account, a public https callback host name, keys worth the name.
 */
import { isIP } from "node:net";
import { ConfigSchema } from "../../lib/config.js";
import { knownCallbackBase } from "./callback-base.js";
import { readResources } from "./s-yaml.js";

/** Every problem with `env` as the source of a deployment; empty when it is fit to deploy. */
export function preflight(env: Record<string, string | undefined>, sYaml?: string): string[] {
  const problems = new Set<string>();
  const need = (name: string, why: string): void => void (!env[name] && problems.add(`${name}: missing; ${why}`));
  need("NLS_APPKEY", "the AppKey of your NLS project");
  need("OSS_BUCKET", "the bucket for inputs, outputs and job records");
  need("TTS_API_KEYS", "comma-separated API keys your clients present");
  need("CALLBACK_SECRET", "an HMAC key of at least 32 characters (openssl rand -hex 24)");
  need("ALIBABA_CLOUD_ACCOUNT_ID", "your account ID, for the batch bus's target and the RAM policy");
  need("ALIBABA_CLOUD_ACCESS_KEY_ID", "the AccessKey that deploys (also given to `s config add`)");
  need("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "the AccessKey secret that deploys");
  const region = env.REGION ?? "cn-shanghai";
  if (!/^[a-z]{2}-[a-z]+(-\d+)?$/.test(region))
    problems.add(`REGION: invalid; expected a region id such as cn-shanghai (got "${region}")`);
  const bucket = env.OSS_BUCKET;
  if (bucket && !/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(bucket))
    problems.add(
      `OSS_BUCKET: invalid; expected 3-63 lower-case letters, digits or '-', starting and ending with a letter or digit (got "${bucket}")`,
    );
  if (env.ALIBABA_CLOUD_ACCOUNT_ID && !/^\d{10,20}$/.test(env.ALIBABA_CLOUD_ACCOUNT_ID))
    problems.add("ALIBABA_CLOUD_ACCOUNT_ID: invalid; expected the numeric account ID");
  for (const key of (env.TTS_API_KEYS ?? "")
    .split(",")
    .map((k) => k.trim())
    .filter(Boolean)) {
    if (key.length < 16)
      problems.add(
        `TTS_API_KEYS: a key of ${key.length} characters; a key facing the internet needs at least 16 (openssl rand -hex 16)`,
      );
  }
  // Without it, `npm run deploy` reads the callback trigger's URL after the first `s deploy` and deploys again with it.
  const base = knownCallbackBase(env);
  if (base) {
    let url: URL | undefined;
    try {
      url = new URL(base);
    } catch {
      problems.add(`CALLBACK_BASE_URL: invalid; expected an https URL (got "${base}")`);
    }
    if (url && url.protocol !== "https:")
      problems.add(
        "CALLBACK_BASE_URL: must be https: providers call it over the internet with the job's signature in it",
      );
    if (url && isIP(url.hostname.replace(/^\[|\]$/g, "")))
      problems.add("CALLBACK_BASE_URL: must name a host, not an IP address (NLS refuses callback URLs with an IP)");
  }
  // What each function will parse at cold start, from the environment s.yaml gives it.
  let resources: Record<string, Record<string, unknown>> = {};
  try {
    resources = readResources(env, sYaml);
  } catch (error) {
    problems.add(`s.yaml: cannot be read (${(error as Error).message})`);
  }
  // One line per variable, naming every function it breaks; a variable already reported missing above is not repeated.
  const reported = new Set([...problems].map((p) => p.split(":")[0]!));
  const byField = new Map<string, { state: string; expected: string; functions: string[] }>();
  for (const [name, props] of Object.entries(resources)) {
    const fnEnv = Object.fromEntries(
      Object.entries((props.environmentVariables as Record<string, unknown> | undefined) ?? {})
        .map(([k, v]) => [k, String(v)])
        .filter(([, v]) => v !== ""),
    );
    // FC provides the role's credentials; their absence here is not the function's problem.
    const result = ConfigSchema.safeParse({
      ALIBABA_CLOUD_ACCESS_KEY_ID: "fc-role",
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: "fc-role",
      ...fnEnv,
    });
    if (result.success) continue;
    for (const issue of result.error.issues) {
      const field = issue.path.join(".");
      if (reported.has(field)) continue;
      const entry = byField.get(field) ?? {
        state: fnEnv[field] === undefined ? "missing" : "invalid",
        expected: issue.message,
        functions: [],
      };
      entry.functions.push(name);
      byField.set(field, entry);
    }
  }
  for (const [field, e] of byField)
    problems.add(`${field}: ${e.state} for ${e.functions.join(", ")}; expected ${e.expected}`);
  return [...problems];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const problems = preflight(process.env);
  if (problems.length > 0) {
    process.stderr.write(`Not ready to deploy; fix these first:\n${problems.map((p) => `  - ${p}`).join("\n")}\n`);
    process.exit(1);
  }
  process.stdout.write("preflight: the environment is ready to deploy\n");
}
