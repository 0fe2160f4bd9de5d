/**
 * How batch events reach `submit`: the one place that says so, read by the deploy step, its teardown, the local
 * EventBridge emulator (which routes exactly by it) and the tests.
 *
 * EventBridge's default bus carries Alibaba Cloud service events only: "events of custom applications can be published
 * only to a custom event bus" (EventBridge, event bus overview). So an fc3 `eventbridge` trigger on the default bus
 * with `{"source":["tts.batch"]}` could never match. Batches go through a custom bus instead, with a rule whose target
 * is `submit`, invoked asynchronously so a batch of thousands of items never holds the delivery open. fc3 triggers
 * cannot name a custom bus, so `npm run deploy` creates the bus, rule and target with the official EventBridge SDK
 * after `s deploy` (idempotently), and `npm run teardown` removes them before `s remove`.
 */
import EventBridgeModule, * as EventBridge from "@alicloud/eventbridge";

/** The SDK's client (a CommonJS default export, reached through the module object under NodeNext). */
type Client = InstanceType<typeof EventBridgeModule.default>;
const ClientClass = ((EventBridgeModule as unknown as { default?: unknown }).default ?? EventBridgeModule) as new (
  config: EventBridge.Config,
) => Client;

export interface BatchRoute {
  readonly bus: string;
  readonly rule: string;
  /** The event pattern, as EventBridge filters it. */
  readonly pattern: Record<string, unknown>;
  readonly targetId: string;
  /** The FC function the rule invokes (its functionName in s.yaml). */
  readonly functionName: string;
}

export function batchRoute(env: Record<string, string | undefined> = process.env): BatchRoute {
  return {
    bus: env.EVENTBRIDGE_BUS || "tts-batches",
    rule: "tts-batch-to-submit",
    pattern: { source: ["tts.batch"] },
    targetId: "submit",
    functionName: "submit",
  };
}

/**
 * The rule's target: an FC function, invoked asynchronously with the event as its body, one event per invocation.
 * The parameters are those EventBridge's "Event target parameters" defines for `acs.fc.function` (functionName,
 * Qualifier, Body ORIGINAL, InvocationType, DataFormat Object). That page addresses FC 2.0 functions by service
 * (`serviceName`, `services/<service>.<qualifier>/functions/<name>`); an FC 3.0 function has no service, so the target
 * names it by its ARN, `acs:fc:<region>:<account>:functions/<name>`, and sends no serviceName: no published document
 * confirms that form (docs/sources.md). A batch file uploaded under the input prefix reaches `submit` by an OSS
 * trigger instead, a route documented at every hop.
 */
export function targetOf(route: BatchRoute, where: { region: string; accountId: string }): EventBridge.TargetEntry {
  return new EventBridge.TargetEntry({
    id: route.targetId,
    type: "acs.fc.function",
    endpoint: `acs:fc:${where.region}:${where.accountId}:functions/${route.functionName}`,
    pushRetryStrategy: "BACKOFF_RETRY",
    paramList: [
      new EventBridge.EBTargetParam({ resourceKey: "functionName", form: "CONSTANT", value: route.functionName }),
      new EventBridge.EBTargetParam({ resourceKey: "Qualifier", form: "CONSTANT", value: "LATEST" }),
      new EventBridge.EBTargetParam({ resourceKey: "Body", form: "ORIGINAL" }),
      new EventBridge.EBTargetParam({ resourceKey: "InvocationType", form: "CONSTANT", value: "Async" }),
      new EventBridge.EBTargetParam({ resourceKey: "DataFormat", form: "CONSTANT", value: "Object" }),
    ],
  });
}

const codeOf = (error: unknown): string =>
  String((error as { code?: unknown }).code ?? (error as { data?: { code?: unknown } }).data?.code ?? "");

/** Creates the bus, the rule and its target, or brings them to this definition: safe to run on every deploy. */
export async function applyBatchRoute(
  client: Client,
  route: BatchRoute,
  where: { region: string; accountId: string },
): Promise<string[]> {
  const done: string[] = [];
  try {
    await client.createEventBus(
      new EventBridge.CreateEventBusRequest({
        eventBusName: route.bus,
        description: "Batch narration events (source tts.batch)",
      }),
    );
    done.push(`created event bus ${route.bus}`);
  } catch (error) {
    if (!/AlreadyExist/i.test(codeOf(error))) throw error;
  }
  const target = targetOf(route, where);
  const filterPattern = JSON.stringify(route.pattern);
  try {
    await client.createRule(
      new EventBridge.CreateRuleRequest({
        eventBusName: route.bus,
        ruleName: route.rule,
        status: "ENABLE",
        filterPattern,
        targets: [target],
        description: "Batch events to the submit function",
      }),
    );
    done.push(`created rule ${route.rule} → ${route.functionName}`);
  } catch (error) {
    if (!/AlreadyExist/i.test(codeOf(error))) throw error;
    await client.updateRule(
      new EventBridge.UpdateRuleRequest({
        eventBusName: route.bus,
        ruleName: route.rule,
        status: "ENABLE",
        filterPattern,
      }),
    );
    await client.createTargets(
      new EventBridge.CreateTargetsRequest({ eventBusName: route.bus, ruleName: route.rule, targets: [target] }),
    );
    done.push(`updated rule ${route.rule} → ${route.functionName}`);
  }
  return done;
}

/** Removes what `applyBatchRoute` made; what is already gone is fine. */
export async function removeBatchRoute(client: Client, route: BatchRoute): Promise<string[]> {
  const done: string[] = [];
  const tolerate = async (what: string, call: () => Promise<unknown>): Promise<void> => {
    try {
      await call();
      done.push(what);
    } catch (error) {
      if (!/NotExist|NotFound/i.test(codeOf(error))) throw error;
    }
  };
  await tolerate(`deleted targets of ${route.rule}`, () =>
    client.deleteTargets(
      new EventBridge.DeleteTargetsRequest({
        eventBusName: route.bus,
        ruleName: route.rule,
        targetIds: [route.targetId],
      }),
    ),
  );
  await tolerate(`deleted rule ${route.rule}`, () =>
    client.deleteRule(new EventBridge.DeleteRuleRequest({ eventBusName: route.bus, ruleName: route.rule })),
  );
  await tolerate(`deleted event bus ${route.bus}`, () =>
    client.deleteEventBus(new EventBridge.DeleteEventBusRequest({ eventBusName: route.bus })),
  );
  return done;
}

/** An EventBridge client for `endpoint` (`<account>.eventbridge.<region>.aliyuncs.com`, or a local emulator's URL). */
export function eventBridgeClient(opts: {
  endpoint: string;
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
}): Client {
  const url = /^https?:\/\//.test(opts.endpoint) ? new URL(opts.endpoint) : new URL(`https://${opts.endpoint}`);
  return new ClientClass(
    new EventBridge.Config({
      accessKeyId: opts.accessKeyId,
      accessKeySecret: opts.accessKeySecret,
      securityToken: opts.securityToken,
      endpoint: url.host,
      protocol: url.protocol.replace(":", ""),
    }),
  );
}
