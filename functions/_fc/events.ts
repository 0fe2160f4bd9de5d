/**
 * FC 3.0 trigger events (facts §1.2, §3.1, §3.2) as zod schemas, and one `unwrap` that turns the raw event (a Buffer
 * in the Node.js runtime) into a parsed payload, reporting paths into the original event on failure.
 */
import { StorePayloadSchema } from "../../lib/jobs/payloads.js";
import { parseInput } from "../../lib/validation.js";
import * as z from "../../lib/zod.js";

/** @example {"version":"v1","rawPath":"/v1/jobs","body":"{…}","isBase64Encoded":false,"headers":{…},"queryParameters":{},"requestContext":{"requestId":"1-64f…","http":{"method":"POST","path":"/v1/jobs"}}} */
export const FcHttpEventSchema = z.object({
  version: z.optional(z.string()),
  rawPath: z.string(),
  body: z.optional(z.string()),
  isBase64Encoded: z._default(z.boolean(), false),
  headers: z._default(z.record(z.string(), z.string()), {}),
  queryParameters: z._default(z.record(z.string(), z.string()), {}),
  requestContext: z.object({
    requestId: z.optional(z.string()),
    domainName: z.optional(z.string()),
    http: z.object({ method: z.string(), path: z.string(), sourceIp: z.optional(z.string()) }),
  }),
});
export type FcHttpEvent = z.infer<typeof FcHttpEventSchema>;

/** @example {"events":[{"eventName":"ObjectCreated:PutObject","eventSource":"acs:oss","oss":{"bucket":{"name":"b"},"object":{"key":"input/a.txt","eTag":"…","size":12}},"region":"cn-shanghai"}]} */
export const OssEventSchema = z.object({
  events: z
    .array(
      z.object({
        eventName: z.string(),
        eventSource: z.optional(z.literal("acs:oss")),
        eventTime: z.optional(z.string()),
        region: z.optional(z.string()),
        oss: z.object({
          bucket: z.object({ name: z.string(), arn: z.optional(z.string()) }),
          object: z.object({ key: z.string(), eTag: z.optional(z.string()), size: z.optional(z.number()) }),
        }),
      }),
    )
    .check(z.minLength(1)),
});
export type OssEvent = z.infer<typeof OssEventSchema>;

/** @example {"triggerTime":"2023-12-26T07:49:00Z","triggerName":"timer-trigger","payload":"awesome-fc"} */
export const TimerEventSchema = z.object({
  triggerTime: z.string(),
  triggerName: z.string(),
  payload: z.optional(z.string()),
});

/**
 * What FC delivers to an async-invocation destination (s.yaml: store's onFailure → reconcile): the failed request and
 * why it failed. Only its presence matters to reconcile, which re-drives every overdue job anyway.
 * @example {"timestamp":1700000000000,"requestContext":{"requestId":"…","functionArn":"acs:fc:…:functions/store","condition":"RetriesExhausted","approximateInvokeCount":3},"requestPayload":"{\"jobId\":\"…\"}","responseContext":{"statusCode":200,"functionError":"UnhandledInvocationError"},"responsePayload":"…"}
 */
export const AsyncDestinationEventSchema = z.looseObject({
  requestContext: z.looseObject({ functionArn: z.optional(z.string()), condition: z.optional(z.string()) }),
  requestPayload: z.optional(z.string()),
});

/** The async payload `store` gets (the job machine's own message: lib/jobs/payloads.ts). */
export const StoreEventSchema = StorePayloadSchema;

/** The Node.js runtime hands events over as a Buffer; tests and the local host may pass strings or objects. */
export function unwrap<S extends z.ZodMiniType>(event: unknown, schema: S, what = "event"): z.infer<S> {
  return parseInput(schema, decodeEvent(event), what);
}

/** JSON text (a Buffer or a string) as its value; anything else, and text that is not JSON, as it is. */
export function parseJsonText(value: unknown): unknown {
  const raw = Buffer.isBuffer(value) ? value.toString("utf8") : value;
  if (typeof raw !== "string") return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** A schema that also accepts its value as JSON text (what FC hands over, and what some producers send as `data`). */
export const JsonString = <S extends z.ZodMiniType>(schema: S) =>
  z.pipe(
    z.transform((value: unknown) => parseJsonText(value)),
    schema,
  );

/** The event as JSON when it is JSON text (a Buffer or a string); anything else as it is. */
export const decodeEvent = parseJsonText;

/**
 * A CloudEvents 1.0 envelope as EventBridge delivers it (a custom bus's rule with its target's Body ORIGINAL).
 * @example {"id":"evt-1","source":"tts.batch","specversion":"1.0","type":"tts:Batch:Submitted","datacontenttype":"application/json","data":{…},"aliyuneventbusname":"tts-batches"}
 */
export const CloudEventSchema = z.object({
  id: z.string().check(z.minLength(1)),
  source: z.string().check(z.minLength(1)),
  specversion: z.literal("1.0"),
  type: z.string().check(z.minLength(1)),
  time: z.optional(z.string()),
  datacontenttype: z.optional(z.string()),
  data: z.unknown(),
});

/**
 * A CloudEvent's data; a producer may send JSON data as a string. It is read as JSON when the datacontenttype says
 * JSON, or says nothing: the CloudEvents JSON format implies application/json when datacontenttype is unset.
 */
export function cloudEventData(envelope: { data?: unknown; datacontenttype?: unknown }): unknown {
  const type = envelope.datacontenttype;
  return type === undefined || /json/i.test(String(type)) ? parseJsonText(envelope.data) : envelope.data;
}

/** A batch request as the batch machine takes it: the event's id (a batch without an id of its own takes it) and data. */
export interface BatchEvent {
  readonly id: string;
  readonly data: unknown;
}

/** The batch request an EventBridge CloudEvent carries (its data read as JSON when it is JSON text). */
export function batchEventOf(event: unknown): BatchEvent {
  const envelope = parseInput(CloudEventSchema, event, "event");
  return { id: envelope.id, data: cloudEventData(envelope) };
}

/**
 * What can be read of an event that did not start a batch, to record why under the batch id it names: its id and
 * data, read leniently (the envelope itself may be what is wrong).
 */
export function rejectedBatchEvent(event: unknown): { id?: string; data?: unknown } {
  if (typeof event !== "object" || event === null) return {};
  const envelope = event as { id?: unknown; data?: unknown; datacontenttype?: unknown };
  return {
    ...(typeof envelope.id === "string" && envelope.id !== "" ? { id: envelope.id } : {}),
    data: cloudEventData(envelope),
  };
}
