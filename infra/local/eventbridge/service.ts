/**
 * The EventBridge emulator: the control-plane and PutEvents API the official `@alicloud/eventbridge` SDK calls
 * (`POST /openapi/<action>`, ACS HMAC-SHA1 signatures), with buses, rules, event patterns and FC targets, so a batch
 * event travels locally the route it travels in the cloud, and is dropped where the cloud would drop it:
 * - the default bus takes Alibaba Cloud service events only ("events of custom applications can be published only
 *   to a custom event bus"): a custom event sent to it is refused;
 * - an event reaches a target only through an enabled rule whose pattern it matches;
 * - PutEvents takes at most 256 KB of events per request, sized as EventBridge's "Calculate the size of events
 *   published by PutEvents" says (time 36 bytes; specversion, id, type, source, subject, dataschema and
 *   datacontenttype in UTF-8 bytes; data in its bytes);
 * - an FC target takes only the parameters EventBridge's "Event target parameters" defines, and EventBridge delivers
 *   to FC only through the service-linked role AliyunServiceRoleForEventBridgeSendToFC; a delivery FC refuses (an
 *   event over its 128 KB async limit) is lost to the producer, who was told the event was accepted.
 */
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AccessKeyRegistry } from "../access-keys.js";
import { readBody, sendJson } from "../http-util.js";
import { matchesPattern } from "./pattern.js";

interface Target {
  readonly id: string;
  readonly type: string;
  readonly endpoint: string;
  readonly params: ReadonlyMap<string, { form: string; value?: string }>;
}

interface Rule {
  readonly bus: string;
  readonly name: string;
  status: "ENABLE" | "DISABLE";
  pattern: Record<string, unknown>;
  readonly targets: Map<string, Target>;
}

/** Where a matched event goes: an FC function, synchronously or through FC's async queue. */
export type Delivery = (
  target: { functionName: string; async: boolean },
  event: Record<string, unknown>,
) => Promise<void> | void;

class EbError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class EventBridgeEmulator {
  readonly #buses = new Map<string, { createdAt: number }>([["default", { createdAt: Date.now() }]]);
  readonly #rules = new Map<string, Rule>();
  /** Every PutEvents entry and what became of it, for tests. */
  readonly log: Array<{
    bus: string;
    source: string;
    id: string;
    outcome: "delivered" | "unmatched" | "refused" | "failed";
    targets: string[];
    /** Why a matched event reached no target. */
    reason?: string;
  }> = [];
  deliver: Delivery | undefined;

  constructor(
    private readonly opts: {
      credentials: AccessKeyRegistry;
      accountId: string;
      region: string;
      /** Whether the account has the service-linked role EventBridge invokes FC through. */
      canInvokeFc?: () => boolean;
    },
  ) {}

  handle(req: IncomingMessage, res: ServerResponse): void {
    void this.#handle(req, res).catch((error: unknown) => {
      const e = error instanceof EbError ? error : new EbError(500, "InternalError", "internal error");
      if (!res.headersSent) sendJson(res, e.status, { code: e.code, message: e.message, requestId: randomUUID() });
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://local");
    const action = /^\/openapi\/([A-Za-z]+)$/.exec(url.pathname)?.[1];
    if (req.method !== "POST" || !action) throw new EbError(404, "ApiNotFound", `no API at ${url.pathname}`);
    const body = await readBody(req, 1024 * 1024);
    this.#verify(req, url);
    const input = body.length ? (JSON.parse(body.toString("utf8")) as unknown) : {};
    const result = await this.#dispatch(action, input);
    sendJson(res, 200, { RequestId: randomUUID(), ResourceOwnerAccountId: this.opts.accountId, ...result });
  }

  /** The SDK's signature: `acs:<AccessKeyId>:<base64 HMAC-SHA1>` over method, content-md5, content-type, date, x-acs-* headers and the resource. */
  #verify(req: IncomingMessage, url: URL): void {
    const m = /^acs:([^:]+):(.+)$/.exec(String(req.headers.authorization ?? ""));
    const key = m ? this.opts.credentials.get(m[1]!) : undefined;
    if (!m || !key) throw new EbError(401, "InvalidAccessKeyId", "The AccessKeyId is missing or unknown.");
    if (key.securityToken && req.headers["x-acs-security-token"] !== key.securityToken)
      throw new EbError(401, "InvalidSecurityToken", "The security token is missing or wrong.");
    const date = Date.parse(String(req.headers.date ?? ""));
    if (Number.isNaN(date) || Math.abs(Date.now() - date) > 15 * 60_000)
      throw new EbError(403, "RequestTimeTooSkewed", "The Date header is missing or more than 15 minutes off.");
    const acs = Object.keys(req.headers)
      .filter((h) => h.startsWith("x-acs-"))
      .sort()
      .map(
        (h) =>
          `${h}:${String(req.headers[h])
            .replace(/[\t\n\r\f]/g, " ")
            .trim()}\n`,
      )
      .join("");
    const query = [...url.searchParams.keys()].sort().map((k) => `${k}=${url.searchParams.get(k)}`);
    const resource = query.length ? `${url.pathname}?${query.join("&")}` : url.pathname;
    const toSign = `${req.method}\n${req.headers["content-md5"] ?? ""}\n${req.headers["content-type"] ?? ""}\n${req.headers.date ?? ""}\n${acs}${resource}`;
    const expected = Buffer.from(createHmac("sha1", key.accessKeySecret).update(toSign, "utf8").digest("base64"));
    const given = Buffer.from(m[2]!);
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      throw new EbError(403, "SignatureNotMatch", "The request signature does not match.");
  }

  async #dispatch(action: string, input: unknown): Promise<Record<string, unknown>> {
    const i = (input ?? {}) as Record<string, unknown>;
    const busName = String(i.EventBusName ?? "");
    const ruleKey = `${busName}/${String(i.RuleName ?? "")}`;
    switch (action) {
      case "createEventBus":
        if (!/^[A-Za-z0-9_.-]{1,127}$/.test(busName) || busName === "default")
          throw new EbError(400, "InvalidArgument", "EventBusName is invalid.");
        if (this.#buses.has(busName))
          throw new EbError(409, "EventBusAlreadyExist", `The event bus ${busName} already exists.`);
        this.#buses.set(busName, { createdAt: Date.now() });
        return { EventBusARN: this.#arn(`eventbus/${busName}`) };
      case "getEventBus": {
        const bus = this.#buses.get(busName);
        if (!bus) throw new EbError(404, "EventBusNotExist", `The event bus ${busName} does not exist.`);
        return {
          EventBusARN: this.#arn(`eventbus/${busName}`),
          EventBusName: busName,
          Description: "",
          CreateTimestamp: bus.createdAt,
        };
      }
      case "deleteEventBus":
        if (!this.#buses.has(busName) || busName === "default")
          throw new EbError(404, "EventBusNotExist", `The event bus ${busName} does not exist.`);
        for (const [key, rule] of this.#rules) if (rule.bus === busName) this.#rules.delete(key);
        this.#buses.delete(busName);
        return {};
      case "createRule": {
        if (!this.#buses.has(busName))
          throw new EbError(404, "EventBusNotExist", `The event bus ${busName} does not exist.`);
        if (this.#rules.has(ruleKey))
          throw new EbError(409, "EventRuleAlreadyExist", `The rule ${String(i.RuleName)} already exists.`);
        const rule: Rule = {
          bus: busName,
          name: String(i.RuleName),
          status: i.Status === "DISABLE" ? "DISABLE" : "ENABLE",
          pattern: parsePattern(i.FilterPattern),
          targets: new Map(),
        };
        for (const t of (i.Targets as unknown[] | undefined) ?? []) rule.targets.set(...targetOf(t));
        this.#rules.set(ruleKey, rule);
        return { RuleARN: this.#arn(`eventbus/${busName}/rule/${rule.name}`) };
      }
      case "updateRule": {
        const rule = this.#rule(ruleKey);
        if (i.FilterPattern !== undefined) rule.pattern = parsePattern(i.FilterPattern);
        if (i.Status === "ENABLE" || i.Status === "DISABLE") rule.status = i.Status;
        return {};
      }
      case "getRule": {
        const rule = this.#rule(ruleKey);
        return {
          EventBusName: rule.bus,
          RuleName: rule.name,
          Status: rule.status,
          FilterPattern: JSON.stringify(rule.pattern),
          Targets: [...rule.targets.values()].map((t) => ({ Id: t.id, Type: t.type, Endpoint: t.endpoint })),
        };
      }
      case "deleteRule":
        this.#rule(ruleKey);
        this.#rules.delete(ruleKey);
        return {};
      case "createTargets": {
        const rule = this.#rule(ruleKey);
        for (const t of (i.Targets as unknown[] | undefined) ?? []) rule.targets.set(...targetOf(t));
        return { FailedEntryCount: 0, FailedEntries: [] };
      }
      case "deleteTargets": {
        const rule = this.#rule(ruleKey);
        for (const id of (i.TargetIds as unknown[] | undefined) ?? []) rule.targets.delete(String(id));
        return { FailedEntryCount: 0, FailedEntries: [] };
      }
      case "putEvents":
        return this.#putEvents(Array.isArray(input) ? input : []);
      default:
        throw new EbError(404, "ApiNotFound", `no action ${action}`);
    }
  }

  async #putEvents(events: unknown[]): Promise<Record<string, unknown>> {
    const size = events.reduce<number>((sum, e) => sum + cloudEventSize(e), 0);
    if (size > PUT_EVENTS_LIMIT)
      throw new EbError(
        400,
        "InvalidArgument",
        `The events of one PutEvents request total ${size} bytes; at most ${PUT_EVENTS_LIMIT} (256 KB) are accepted.`,
      );
    const entries: Array<Record<string, unknown>> = [];
    for (const raw of events) {
      const event = (raw ?? {}) as Record<string, unknown>;
      const id = String(event.id ?? "");
      const source = String(event.source ?? "");
      const bus = String(event.aliyuneventbusname ?? "default");
      if (!id || !source || !event.type) {
        entries.push({ ErrorCode: "InvalidArgument", ErrorMessage: "an event needs id, source and type" });
        continue;
      }
      if (bus === "default" && !source.startsWith("acs.")) {
        this.log.push({ bus, source, id, outcome: "refused", targets: [] });
        entries.push({
          EventId: id,
          ErrorCode: "InvalidArgument",
          ErrorMessage: "Events of custom applications can be published only to a custom event bus.",
        });
        continue;
      }
      if (!this.#buses.has(bus)) {
        this.log.push({ bus, source, id, outcome: "refused", targets: [] });
        entries.push({
          EventId: id,
          ErrorCode: "EventBusNotExist",
          ErrorMessage: `The event bus ${bus} does not exist.`,
        });
        continue;
      }
      // What the bus adds before delivery (CloudEvents extension attributes of EventBridge).
      const delivered = {
        ...event,
        aliyuneventbusname: bus,
        aliyunaccountid: this.opts.accountId,
        aliyunregionid: this.opts.region,
        aliyunpublishtime: new Date().toISOString(),
        aliyunoriginalaccountid: this.opts.accountId,
      };
      const targets: string[] = [];
      let reason: string | undefined;
      for (const rule of this.#rules.values()) {
        if (rule.bus !== bus || rule.status !== "ENABLE" || !matchesPattern(delivered, rule.pattern)) continue;
        for (const target of rule.targets.values()) {
          if (target.type !== "acs.fc.function") continue;
          if (!(this.opts.canInvokeFc?.() ?? true)) {
            reason = "the account has no service-linked role AliyunServiceRoleForEventBridgeSendToFC";
            continue;
          }
          const functionName = target.params.get("functionName")!.value!;
          const async = target.params.get("InvocationType")?.value === "Async";
          try {
            await this.deliver?.({ functionName, async }, delivered);
            targets.push(functionName);
          } catch (error) {
            reason = `Function Compute refused the delivery: ${(error as Error).message}`;
          }
        }
      }
      this.log.push({
        bus,
        source,
        id,
        outcome: targets.length ? "delivered" : reason ? "failed" : "unmatched",
        targets,
        ...(reason ? { reason } : {}),
      });
      entries.push({ EventId: id, TraceId: randomUUID() });
    }
    return { FailedEntryCount: entries.filter((e) => e.ErrorCode).length, EntryList: entries };
  }

  #rule(key: string): Rule {
    const rule = this.#rules.get(key);
    if (!rule) throw new EbError(404, "EventRuleNotExisted", `The rule ${key} does not exist.`);
    return rule;
  }

  #arn(resource: string): string {
    return `acs:eventbridge:${this.opts.region}:${this.opts.accountId}:${resource}`;
  }
}

function parsePattern(value: unknown): Record<string, unknown> {
  try {
    const pattern = typeof value === "string" ? (JSON.parse(value) as unknown) : value;
    if (pattern && typeof pattern === "object" && !Array.isArray(pattern)) return pattern as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new EbError(400, "InvalidArgument", "FilterPattern must be a JSON object.");
}

/** PutEvents' limit on one request's events. */
const PUT_EVENTS_LIMIT = 256 * 1024;

/** An event's size as EventBridge counts it against PutEvents' limit. */
export function cloudEventSize(raw: unknown): number {
  const e = (raw ?? {}) as Record<string, unknown>;
  let size = e.time === undefined ? 0 : 36;
  for (const k of ["specversion", "id", "type", "source", "subject", "dataschema", "datacontenttype"])
    if (e[k] !== undefined) size += Buffer.byteLength(String(e[k]));
  // The SDK sends JSON data parsed (`data`) and any other data in Base64 (`data_base64`): either counts its bytes.
  if (e.data !== undefined) size += Buffer.byteLength(typeof e.data === "string" ? e.data : JSON.stringify(e.data));
  if (typeof e.data_base64 === "string") size += Buffer.from(e.data_base64, "base64").length;
  return size;
}

/**
 * The parameters of an `acs.fc.function` target, as "Event target parameters" lists them. `serviceName` is FC 2.0's;
 * a Function Compute 3.0 function has no service, so its target names the function by its ARN and leaves it out.
 */
const FC_TARGET_PARAMS = new Set(["serviceName", "functionName", "Qualifier", "Body", "InvocationType", "DataFormat"]);
const FC_TARGET_REQUIRED = ["functionName", "Qualifier", "Body", "InvocationType", "DataFormat"];

function checkFcTarget(endpoint: string, params: ReadonlyMap<string, { form: string; value?: string }>): void {
  for (const key of params.keys())
    if (!FC_TARGET_PARAMS.has(key))
      throw new EbError(400, "InvalidArgument", `An acs.fc.function target takes no parameter ${key}.`);
  for (const key of FC_TARGET_REQUIRED)
    if (!params.has(key))
      throw new EbError(400, "InvalidArgument", `An acs.fc.function target needs the parameter ${key}.`);
  if (!/^(Sync|Async)$/.test(params.get("InvocationType")!.value ?? ""))
    throw new EbError(400, "InvalidArgument", "InvocationType must be Sync or Async.");
  if (!/^(Object|ObjectList)$/.test(params.get("DataFormat")!.value ?? ""))
    throw new EbError(400, "InvalidArgument", "DataFormat must be Object or ObjectList.");
  if (!/^acs:fc:[^:]+:\d+:(services\/[^/]+\/)?functions\/[^/]+$/.test(endpoint))
    throw new EbError(400, "InvalidArgument", `Endpoint ${endpoint} is not a function's ARN.`);
}

function targetOf(raw: unknown): [string, Target] {
  const t = (raw ?? {}) as Record<string, unknown>;
  const params = new Map<string, { form: string; value?: string }>();
  for (const p of (t.ParamList as Array<Record<string, unknown>> | undefined) ?? [])
    params.set(String(p.ResourceKey), {
      form: String(p.Form),
      ...(p.Value !== undefined ? { value: String(p.Value) } : {}),
    });
  const id = String(t.Id ?? "");
  if (!id || !t.Type || !t.Endpoint) throw new EbError(400, "InvalidArgument", "a target needs Id, Type and Endpoint");
  if (t.Type === "acs.fc.function") checkFcTarget(String(t.Endpoint), params);
  return [id, { id, type: String(t.Type), endpoint: String(t.Endpoint), params }];
}
