/**
 * Real event envelopes (test/events/, shaped as Alibaba's documentation and EventBridge deliver them), each parsed by
 * the schema of the function it reaches, as FC hands it over: a Buffer of JSON text.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  AsyncDestinationEventSchema,
  CloudEventSchema,
  cloudEventData,
  decodeEvent,
  FcHttpEventSchema,
  JsonString,
  OssEventSchema,
  StoreEventSchema,
  TimerEventSchema,
  unwrap,
} from "../../functions/_fc/events.js";
import { BatchRequestSchema } from "../../lib/batches/schema.js";

const fixture = (name: string): Buffer => readFileSync(new URL(`../events/${name}`, import.meta.url));

describe("event envelopes", () => {
  it("OSS trigger: ObjectCreated:PutObject", () => {
    const e = unwrap(fixture("oss-put.json"), OssEventSchema);
    expect(e.events[0]!.oss.object).toMatchObject({ key: "input/book/ch1.txt", size: 122539 });
  });

  it("EventBridge custom bus, Body ORIGINAL: a CloudEvent whose data is the batch", () => {
    const e = unwrap(fixture("eventbridge-batch.json"), CloudEventSchema);
    expect(BatchRequestSchema.parse(cloudEventData(e))).toMatchObject({ batchId: "news-7", items: [{ id: "a" }] });
  });

  it("EventBridge batching mode: a JSON array of serialized CloudEvents whose data is itself JSON text", () => {
    const array = decodeEvent(decodeEvent(fixture("eventbridge-batching-mode.json")));
    expect(Array.isArray(array)).toBe(true);
    const e = unwrap((array as unknown[])[0], CloudEventSchema);
    expect(BatchRequestSchema.parse(cloudEventData(e))).toMatchObject({ batchId: "b-1" });
  });

  it("timer trigger", () => {
    expect(unwrap(fixture("timer.json"), TimerEventSchema)).toMatchObject({
      triggerName: "every-5-minutes",
      payload: "reconcile",
    });
  });

  it("HTTP trigger (built-in runtime)", () => {
    const e = unwrap(fixture("http-trigger.json"), FcHttpEventSchema);
    expect(e.requestContext.http.method).toBe("POST");
    expect(JSON.parse(e.body!)).toEqual({ text: "你好。" });
  });

  it("async-invocation destination (store's onFailure → reconcile), whose requestPayload is the store event as JSON text", () => {
    const e = unwrap(fixture("async-destination.json"), AsyncDestinationEventSchema);
    expect(JsonString(StoreEventSchema).parse(e.requestPayload)).toEqual({
      jobId: "0e3c1a2b-4f5d-4c6e-8a9b-0c1d2e3f4a5b",
    });
  });

  it("reads a CloudEvent's data given as JSON text without a datacontenttype (CloudEvents implies application/json)", () => {
    const e = unwrap(
      {
        id: "e",
        source: "tts.batch",
        specversion: "1.0",
        type: "t",
        data: '{"items":[{"id":"a","text":"x。"}],"outputPrefix":"output/x/"}',
      },
      CloudEventSchema,
    );
    expect(BatchRequestSchema.parse(cloudEventData(e))).toMatchObject({ outputPrefix: "output/x/" });
    // Another declared type keeps its data as it came.
    expect(cloudEventData({ data: "plain words", datacontenttype: "text/plain" })).toBe("plain words");
  });
});
