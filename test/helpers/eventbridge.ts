/**
 * A batch producer as users write one: the official `@alicloud/eventbridge` SDK's PutEvents, to the bus the deployment
 * routes (or another), against the local EventBridge emulator.
 */
import * as EventBridge from "@alicloud/eventbridge";
import { batchRoute, eventBridgeClient } from "../../infra/deploy/batch-route.js";
import type { LocalCloud } from "../../infra/local/cloud.js";

/** Publishes CloudEvents (`data` as JSON) and returns PutEvents' answer. `bus: null` sends them without a bus name (the default bus). */
export async function publish(
  cloud: LocalCloud,
  events: Array<Record<string, unknown>>,
  bus: string | null = batchRoute().bus,
): Promise<{ failed: number; entries: Array<{ eventId?: string; errorCode?: string; errorMessage?: string }> }> {
  const env = cloud.env();
  const client = eventBridgeClient({
    endpoint: cloud.urls.eventbridge,
    accessKeyId: env.ALIBABA_CLOUD_ACCESS_KEY_ID!,
    accessKeySecret: env.ALIBABA_CLOUD_ACCESS_KEY_SECRET!,
  });
  const list = events.map(({ id, source, type, datacontenttype, data, ...rest }) => {
    const { specversion: _v, ...extensions } = rest;
    return new EventBridge.CloudEvent({
      id: String(id),
      source: String(source),
      type: String(type),
      specversion: "1.0",
      datacontenttype: String(datacontenttype ?? "application/json"),
      data: Buffer.from(typeof data === "string" ? data : JSON.stringify(data)),
      extensions: { ...extensions, ...(bus ? { aliyuneventbusname: bus } : {}) },
    });
  });
  const res = await client.putEvents(list);
  return {
    failed: res.failedEntryCount ?? 0,
    entries: (res.entryList ?? []).map((e) => ({
      eventId: e.eventId,
      errorCode: e.errorCode,
      errorMessage: e.errorMessage,
    })),
  };
}

/** A batch CloudEvent as producers publish it (source tts.batch), with `data` and any extension attributes. */
export function batchEvent(id: string, data: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    source: "tts.batch",
    specversion: "1.0",
    type: "tts:Batch:Submitted",
    datacontenttype: "application/json",
    data,
    ...extra,
  };
}
