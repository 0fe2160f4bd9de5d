/**
 * The triggers s.yaml declares, locally: OSS uploads (the emulator's writes, filtered by each trigger's prefix and
 * suffix) and timers invoke their function through FC's async queue; the batch bus's rule, made with the official SDK
 * as `npm run deploy` makes it, delivers matched events to its target. FC's own triggers need no role of the
 * function's; a refusal of theirs (a payload over the limit) is logged, as FC's would be in the function's logs.
 */
import type { Invoker } from "../../lib/invoke.js";
import type { Logger } from "../../lib/log.js";
import { applyBatchRoute, type BatchRoute, eventBridgeClient } from "../deploy/batch-route.js";
import { ensureServiceLinkedRole, ramClient } from "../deploy/service-linked-role.js";
import type { LocalCloud } from "./cloud.js";

export interface TriggeredFunction {
  readonly resource: string;
  readonly functionName: string;
  readonly triggers: ReadonlyArray<{
    readonly triggerName: string;
    readonly triggerType: string;
    readonly triggerConfig?: {
      filter?: { key?: { prefix?: string; suffix?: string } };
      payload?: string;
    };
  }>;
}

/** OSS triggers; answers a function that removes them. */
export function ossTriggers(opts: {
  functions: readonly TriggeredFunction[];
  cloud: LocalCloud;
  invoker: Invoker;
  region: string;
  log: Logger;
}): () => void {
  const observers: Array<() => void> = [];
  for (const f of opts.functions) {
    for (const t of f.triggers.filter((t) => t.triggerType === "oss")) {
      const { prefix = "", suffix = "" } = t.triggerConfig?.filter?.key ?? {};
      const observer = (e: { op: string; bucket: string; key: string; status: number }): void => {
        if (
          (e.op !== "PutObject" && e.op !== "CompleteMultipartUpload") ||
          e.status !== 200 ||
          !e.key.startsWith(prefix) ||
          !e.key.endsWith(suffix)
        )
          return;
        const meta = opts.cloud.oss.files.head(e.bucket, e.key);
        if (!meta) return;
        const eventName = e.op === "PutObject" ? "ObjectCreated:PutObject" : "ObjectCreated:CompleteMultipartUpload";
        const event = {
          events: [
            {
              eventName,
              eventSource: "acs:oss",
              eventTime: new Date().toISOString(),
              eventVersion: "1.0",
              region: opts.region,
              oss: {
                bucket: { name: e.bucket, arn: `acs:oss:${opts.region}:1:${e.bucket}` },
                object: { key: e.key, eTag: meta.etag.replace(/"/g, ""), size: meta.size },
              },
            },
          ],
        };
        opts.invoker
          .invokeAsync(f.resource, event)
          .catch((error: unknown) => opts.log.error("OSS trigger not delivered", { function: f.functionName, error }));
      };
      opts.cloud.oss.observers.add(observer);
      observers.push(() => opts.cloud.oss.observers.delete(observer));
    }
  }
  return () => {
    for (const off of observers) off();
  };
}

/**
 * The batch route as `npm run deploy` makes it: EventBridge's service-linked role for FC, then the bus, rule and
 * target; matched events go to the target's function (async: FC's queue, with its limits).
 */
export async function eventBridgeRoute(opts: {
  functions: readonly TriggeredFunction[];
  cloud: LocalCloud;
  invoker: Invoker;
  invoke: (resource: string, event: unknown) => Promise<unknown>;
  route: BatchRoute;
  region: string;
}): Promise<void> {
  const byName = new Map(opts.functions.map((f) => [f.functionName, f.resource]));
  opts.cloud.eventbridge.deliver = async (target, event) => {
    const resource = byName.get(target.functionName);
    if (!resource) return;
    if (target.async) await opts.invoker.invokeAsync(resource, event);
    else await opts.invoke(resource, event);
  };
  const env = opts.cloud.env();
  const credentials = {
    accessKeyId: env.ALIBABA_CLOUD_ACCESS_KEY_ID!,
    accessKeySecret: env.ALIBABA_CLOUD_ACCESS_KEY_SECRET!,
  };
  await ensureServiceLinkedRole(ramClient({ endpoint: opts.cloud.urls.ram, credentials }));
  await applyBatchRoute(eventBridgeClient({ endpoint: opts.cloud.urls.eventbridge, ...credentials }), opts.route, {
    region: opts.region,
    accountId: env.ALIBABA_CLOUD_ACCOUNT_ID!,
  });
}

/** Timer triggers: each fires every `everyMs` (none when 0); `event` is what a tick of `resource` delivers. */
export function timerTriggers(opts: {
  functions: readonly TriggeredFunction[];
  invoker: Invoker;
  everyMs?: number;
  log: Logger;
}): { event(resource: string): unknown; stop(): void } {
  const timers = opts.functions.flatMap((f) =>
    f.triggers.filter((t) => t.triggerType === "timer").map((t) => ({ name: f.resource, trigger: t })),
  );
  const event = (name: string): unknown => {
    const t = timers.find((x) => x.name === name);
    return {
      triggerTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      triggerName: t?.trigger.triggerName ?? "timer",
      payload: t?.trigger.triggerConfig?.payload ?? "",
    };
  };
  const intervals = opts.everyMs
    ? timers.map((t) =>
        setInterval(
          () =>
            void opts.invoker
              .invokeAsync(t.name, event(t.name))
              .catch((error: unknown) => opts.log.error("timer not delivered", { function: t.name, error })),
          opts.everyMs,
        ),
      )
    : [];
  return { event, stop: () => intervals.forEach(clearInterval) };
}
