/** The job runtime as it runs on Function Compute: configuration from the environment, FC's async invocation. */
import { createClients, credentialsFrom } from "../clients.js";
import { config } from "../config.js";
import type { Invoker } from "../invoke.js";
import { createLogger } from "../log.js";
import { createJobRuntime, type JobRuntime } from "../runtime.js";

let runtime: JobRuntime | undefined;

export function cloudJobRuntime(functionName: string): JobRuntime {
  if (runtime) return runtime;
  const cfg = config();
  const log = createLogger({ level: cfg.LOG_LEVEL, base: { function: functionName } });
  const region = process.env.FC_REGION ?? cfg.REGION;
  // The FC SDK is the largest single dependency and only callback and reconcile ever invoke: load it on first use.
  let fc: Promise<Invoker> | undefined;
  const invoker: Invoker = {
    invokeAsync: async (name, payload) => {
      fc ??= import("./invoker.js").then(
        ({ FcInvoker }) =>
          new FcInvoker({
            // Inside FC the internal endpoint avoids the public network (facts §4).
            endpoint: process.env.FC_ENDPOINT ?? `${process.env.FC_ACCOUNT_ID}.${region}-internal.fc.aliyuncs.com`,
            credentials: credentialsFrom(cfg),
            functionPrefix: process.env.FC_FUNCTION_PREFIX ?? "",
          }),
      );
      return (await fc).invokeAsync(name, payload);
    },
  };
  runtime = createJobRuntime(cfg, createClients(cfg), invoker, log);
  return runtime;
}
