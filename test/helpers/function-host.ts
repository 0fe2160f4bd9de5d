import { afterAll, beforeAll } from "vitest";
import type { LocalCloud } from "../../infra/local/cloud.js";
import { type FunctionHost, startFunctionHost } from "../../infra/local/host.js";
import { createLogger, type Logger } from "../../lib/log.js";

/**
 * Runs every function of s.yaml on the given local cloud for the enclosing test file (started before its tests,
 * stopped after), with the cloud's environment plus `env`. Returns the host, usable in tests once started.
 */
export function useFunctionHost(
  cloud: () => LocalCloud,
  env: Record<string, string> = {},
  opts: { log?: Logger; timerMs?: number } = {},
): FunctionHost {
  let started: FunctionHost | undefined;
  beforeAll(async () => {
    started = await startFunctionHost({
      env: { ...cloud().env(), ...env },
      log: opts.log ?? createLogger({ level: "error" }),
      cloud: cloud(),
      timerMs: opts.timerMs,
    });
  });
  afterAll(async () => started?.stop());
  return new Proxy({} as FunctionHost, {
    get(_target, property) {
      if (!started) throw new Error("the function host is not started yet (use it inside a test or hook)");
      const value = Reflect.get(started, property) as unknown;
      return typeof value === "function" ? value.bind(started) : value;
    },
  });
}
