/**
 * `tsx infra/deploy/eventbridge.ts up|down`: creates (or brings up to date) the custom event bus, rule and `submit`
 * target that carry batch events (`up`, run by `npm run deploy` after `s deploy`), or removes them (`down`, run by
 * `npm run teardown` before `s remove`). Idempotent both ways. Reads REGION, ALIBABA_CLOUD_ACCOUNT_ID and the
 * AccessKey from the environment (the same one `s` deploys with); EVENTBRIDGE_ENDPOINT and RAM_ENDPOINT override the
 * regional endpoints. `up` first makes EventBridge's service-linked role for FC if the account lacks it.
 */
import { applyBatchRoute, batchRoute, eventBridgeClient, removeBatchRoute } from "./batch-route.js";
import { ensureServiceLinkedRole, ramClient } from "./service-linked-role.js";

const command = process.argv[2];
const env = process.env;
const missing = ["ALIBABA_CLOUD_ACCOUNT_ID", "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"].filter(
  (name) => !env[name],
);
if ((command !== "up" && command !== "down") || missing.length > 0) {
  process.stderr.write(
    `usage: eventbridge.ts up|down${missing.length ? `\nmissing: ${missing.join(", ")} (the account ID and the AccessKey that deploy)` : ""}\n`,
  );
  process.exit(2);
}
const region = env.REGION || "cn-shanghai";
const accountId = env.ALIBABA_CLOUD_ACCOUNT_ID!;
const client = eventBridgeClient({
  endpoint: env.EVENTBRIDGE_ENDPOINT || `${accountId}.eventbridge.${region}.aliyuncs.com`,
  accessKeyId: env.ALIBABA_CLOUD_ACCESS_KEY_ID!,
  accessKeySecret: env.ALIBABA_CLOUD_ACCESS_KEY_SECRET!,
  securityToken: env.ALIBABA_CLOUD_SECURITY_TOKEN,
});
const route = batchRoute(env);
try {
  const credentials = {
    accessKeyId: env.ALIBABA_CLOUD_ACCESS_KEY_ID!,
    accessKeySecret: env.ALIBABA_CLOUD_ACCESS_KEY_SECRET!,
    ...(env.ALIBABA_CLOUD_SECURITY_TOKEN ? { securityToken: env.ALIBABA_CLOUD_SECURITY_TOKEN } : {}),
  };
  // EventBridge delivers to FC only through its service-linked role, which only the console or this call makes.
  const role =
    command === "up"
      ? await ensureServiceLinkedRole(ramClient({ endpoint: env.RAM_ENDPOINT, credentials }))
      : undefined;
  const done = [
    ...(role ? [role] : []),
    ...(command === "up"
      ? await applyBatchRoute(client, route, { region, accountId })
      : await removeBatchRoute(client, route)),
  ];
  for (const line of done.length ? done : [`event bus ${route.bus}: nothing to change`])
    process.stdout.write(`${line}\n`);
} catch (error) {
  process.stderr.write(`EventBridge ${command} failed: ${(error as Error).message}\n`);
  process.exit(1);
}
