/** The job runtime as it runs on Function Compute: configuration from the environment, FC's async invocation. */
import { createClients, credentialsOf } from "../../lib/clients.js";
import { config } from "../../lib/config.js";
import { RoleCredentials } from "../../lib/credentials.js";
import { FcInvoker } from "../../lib/fc/invoker.js";
import { createLogger } from "../../lib/log.js";
import { createJobRuntime, type JobRuntime } from "../../lib/runtime.js";

let runtime: JobRuntime | undefined;
let role: RoleCredentials | undefined;

/** The function role's credentials: the environment's at instance start, then those of each invocation. */
export function cloudCredentials(): RoleCredentials {
  role ??= new RoleCredentials(credentialsOf(config()));
  return role;
}

export function cloudJobRuntime(functionName: string): JobRuntime {
  if (runtime) return runtime;
  const cfg = config();
  const log = createLogger({ level: cfg.LOG_LEVEL, base: { function: functionName } });
  const region = process.env.FC_REGION ?? cfg.REGION;
  const invoker = new FcInvoker({
    // Inside FC the internal endpoint avoids the public network (facts §4).
    endpoint: process.env.FC_ENDPOINT ?? `${process.env.FC_ACCOUNT_ID}.${region}-internal.fc.aliyuncs.com`,
    credentials: cloudCredentials().current,
    functionPrefix: process.env.FC_FUNCTION_PREFIX ?? "",
  });
  runtime = createJobRuntime(cfg, createClients(cfg, cloudCredentials().current), invoker, log, { functionName });
  return runtime;
}
