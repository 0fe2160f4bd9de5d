/**
 * Batch events travel the route a deployment has: a producer's PutEvents (the official SDK) to the custom bus, its
 * rule's pattern, and the `submit` target — through the EventBridge emulator, which drops what the cloud would drop.
 */
import * as EventBridge from "@alicloud/eventbridge";
import { describe, expect, it } from "vitest";
import {
  applyBatchRoute,
  batchRoute,
  eventBridgeClient,
  removeBatchRoute,
  targetOf,
} from "../../infra/deploy/batch-route.js";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { publish } from "../helpers/eventbridge.js";
import { useFunctionHost } from "../helpers/function-host.js";
import { settle as settleAll } from "../helpers/jobs.js";
import { useLocalCloud } from "../helpers/local-cloud.js";

const cloud = useLocalCloud({ engine: new FastEngine(), longText: { queueMs: 5, runMs: 5 } });
const host = useFunctionHost(cloud, { TTS_API_KEYS: "route-key-01" });
const settle = () => settleAll(host, cloud());

const batch = (id: string, source = "tts.batch") => ({
  id,
  source,
  type: "tts:Batch:Submitted",
  data: { batchId: id, items: [{ id: "a", text: "一条新闻。" }], outputPrefix: `output/${id}/` },
});
const manifest = (id: string) => host.platform.jobs().batches.manifest(id);
const client = (secret?: string) => {
  const env = cloud().env();
  return eventBridgeClient({
    endpoint: cloud().urls.eventbridge,
    accessKeyId: env.ALIBABA_CLOUD_ACCESS_KEY_ID!,
    accessKeySecret: secret ?? env.ALIBABA_CLOUD_ACCESS_KEY_SECRET!,
  });
};

describe("the batch route", () => {
  it("carries a producer's event on the custom bus to submit, which runs the batch", async () => {
    const res = await publish(cloud(), [batch("route-ok")]);
    expect(res.failed).toBe(0);
    await settle();
    expect((await manifest("route-ok"))?.state).toBe("done");
    expect(cloud().eventbridge.log.find((e) => e.id === "route-ok")).toMatchObject({
      bus: batchRoute().bus,
      outcome: "delivered",
      targets: ["submit"],
    });
  });

  it("refuses the same event on the default bus, which takes Alibaba Cloud service events only: no batch starts", async () => {
    const res = await publish(cloud(), [batch("route-default")], null);
    expect(res.failed).toBe(1);
    expect(res.entries[0]?.errorMessage).toMatch(/custom event bus/);
    await settle();
    expect(await manifest("route-default")).toBeUndefined();
  });

  it("would have dropped every batch with the old wiring: a Default-bus rule for source tts.batch never fires", async () => {
    // What s.yaml's `eventSourceType: Default` trigger made: a rule on the default bus with the same pattern and target.
    const route = batchRoute();
    const env = cloud().env();
    await client().createRule(
      new EventBridge.CreateRuleRequest({
        eventBusName: "default",
        ruleName: "old-default-trigger",
        status: "ENABLE",
        filterPattern: JSON.stringify(route.pattern),
        targets: [targetOf(route, { region: cloud().region, accountId: env.ALIBABA_CLOUD_ACCOUNT_ID! })],
      }),
    );
    const res = await publish(cloud(), [batch("route-old")], null);
    expect(res.failed).toBe(1);
    await settle();
    expect(await manifest("route-old")).toBeUndefined();
    expect(cloud().eventbridge.log.find((e) => e.id === "route-old")?.outcome).toBe("refused");
  });

  it("passes over an event the rule's pattern does not match", async () => {
    expect((await publish(cloud(), [batch("route-other", "my.app")])).failed).toBe(0);
    await settle();
    expect(await manifest("route-other")).toBeUndefined();
    expect(cloud().eventbridge.log.find((e) => e.id === "route-other")?.outcome).toBe("unmatched");
  });

  it("is made idempotently and removed by teardown, after which the bus refuses events", async () => {
    const where = { region: cloud().region, accountId: cloud().env().ALIBABA_CLOUD_ACCOUNT_ID! };
    const route = { ...batchRoute(), bus: "route-lifecycle" };
    expect(await applyBatchRoute(client(), route, where)).toEqual([
      "created event bus route-lifecycle",
      "created rule tts-batch-to-submit → submit",
    ]);
    expect(await applyBatchRoute(client(), route, where)).toEqual(["updated rule tts-batch-to-submit → submit"]);
    expect(await removeBatchRoute(client(), route)).toHaveLength(3);
    expect(await removeBatchRoute(client(), route)).toEqual([]);
    const res = await publish(cloud(), [batch("route-gone")], "route-lifecycle");
    expect(res.entries[0]?.errorCode).toBe("EventBusNotExist");
  });

  it("refuses a request signed with the wrong secret", async () => {
    await expect(
      client("not-the-secret-0000000").getEventBus(
        new EventBridge.GetEventBusRequest({ eventBusName: batchRoute().bus }),
      ),
    ).rejects.toThrow(/SignatureNotMatch|signature/i);
  });
});
