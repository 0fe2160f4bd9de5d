/**
 * The hostile-input corpus for the EventBridge entry point (batch narration). EventBridge cannot be answered with a
 * 4xx, so every bad event is answered by `submit` (never thrown for FC to retry), logged with the field, recorded where
 * GET /v1/batches/{id} shows it and, when it names a usable webhook, reported there. A bad item fails alone, with its
 * reason, and never stops the others.
 */
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { createLogger } from "../../lib/log.js";
import { batchEvent, publish } from "../helpers/eventbridge.js";
import { useFunctionHost } from "../helpers/function-host.js";
import { settle as settleAll } from "../helpers/jobs.js";
import { useLocalCloud } from "../helpers/local-cloud.js";
import { useWebhookSink } from "../helpers/webhooks.js";

const cloud = useLocalCloud({ engine: new FastEngine(), longText: { queueMs: 5, runMs: 5 } });
const KEY = "hostile-eb-key";
const SECRET = "h".repeat(40);
const host = useFunctionHost(
  cloud,
  { TTS_API_KEYS: KEY, CALLBACK_SECRET: SECRET, WEBHOOK_ALLOW_PRIVATE: "true" },
  { log: createLogger({ level: "info", write: (l) => logs.push(l) }) },
);
const logs: string[] = [];
const { hooks, url: hookAt } = useWebhookSink();
const settle = () => settleAll(host, cloud());

const event = batchEvent;
const item = (id: string, fields: Record<string, unknown> = { text: "一句话。" }) => ({ id, ...fields });
const good = (batchId: string, items: unknown[] = [item("a")]) => ({
  batchId,
  items,
  outputPrefix: `output/${batchId}/`,
});
const submit = (e: unknown) => host.invoke("submit", e) as Promise<Record<string, unknown>>;
const view = async (id: string) => {
  const res = await fetch(`${host.url}/v1/batches/${id}`, { headers: { authorization: `Bearer ${KEY}` } });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown> & {
      items?: Array<{ id: string; state: string; failure?: { reason: string } }>;
    },
  };
};

describe("hostile EventBridge events: the whole event refused, naming the field", () => {
  // [what, event, field, message]
  const cases: Array<[string, unknown, string, RegExp]> = [
    ["an empty object", {}, "event.id", /./],
    ["a string", "narrate this", "event", /object/i],
    ["CloudEvents 0.3", { ...event("e-03", good("v03")), specversion: "0.3" }, "event.specversion", /1\.0/],
    ["no data", { ...event("e-nodata", undefined), data: undefined }, "event.data", /./],
    ["data that is an array", event("e-array", [good("x")]), "data", /object/i],
    ["data that is a string, not JSON", event("e-str", "not json"), "data", /object/i],
    ["no items", event("e-empty", good("b-empty", [])), "data.items", /1/],
    [
      "10,001 items",
      event(
        "e-many",
        good(
          "b-many",
          Array.from({ length: 10_001 }, (_, i) => item(`i${i}`)),
        ),
      ),
      "data.items",
      /10000/,
    ],
    ["an item id with a path", event("e-id", good("b-id", [item("../etc")])), "data.items.0.id", /letters, digits/],
    ["duplicate item ids", event("e-dup", good("b-dup", [item("a"), item("a")])), "data.items", /unique/],
    [
      "an item with both text and ssml",
      event("e-both", good("b-both", [item("a", { text: "x", ssml: "<speak>y</speak>" })])),
      "data.items.0",
      /one of text, ssml or input/,
    ],
    ["an item of the wrong type", event("e-type", good("b-type", [42])), "data.items.0", /object/i],
    ["an unknown field", event("e-field", { ...good("b-field"), priority: "high" }), "data.priority", /priority/],
    ["a batch id with a slash", event("e-bid", { ...good("x"), batchId: "a/b" }), "data.batchId", /letters, digits/],
    [
      "an output prefix without a slash",
      event("e-pfx", { ...good("b-pfx"), outputPrefix: "output/no-slash" }),
      "data.outputPrefix",
      /ending in '\/'/,
    ],
    [
      "an output prefix outside the output area",
      event("e-evil", { ...good("b-evil"), outputPrefix: "input/evil/" }),
      "data.outputPrefix",
      /output prefix/,
    ],
    [
      "an output prefix climbing out with ..",
      event("e-dots", { ...good("b-dots"), outputPrefix: "output/../input/" }),
      "data.outputPrefix",
      /'\.\.'/,
    ],
    [
      "a sample rate given as a string",
      event("e-rate", { ...good("b-rate"), defaults: { sampleRate: "16000" } }),
      "data.defaults.sampleRate",
      /8000/,
    ],
    [
      "a volume of a billion",
      event("e-vol", { ...good("b-vol"), defaults: { volume: 1e9 } }),
      "data.defaults.volume",
      /100/,
    ],
    [
      "a webhook on file://",
      event("e-file", { ...good("b-file"), notify: { url: "file:///etc/passwd" } }),
      "data.notify.url",
      /http/,
    ],
    [
      "a webhook on the metadata service",
      event("e-meta", {
        ...good("b-meta"),
        notify: { url: "http://100.100.100.200/latest/meta-data/ram/security-credentials/" },
      }),
      "data.notify.url",
      /metadata/,
    ],
  ];

  it.each(cases)("%s", async (_what, e, field, message) => {
    const result = await submit(e);
    expect(result).toMatchObject({ state: "rejected", error: { field } });
    expect((result.error as { message: string }).message).toMatch(message);
    // Logged at error level with the field, so an operator sees it; the process keeps answering.
    expect(logs.some((l) => l.includes('"level":"error"') && l.includes(`"field":"${field}"`))).toBe(true);
  });

  it("records the refusal where GET /v1/batches/{id} shows it, under the batch id or the event's", async () => {
    await submit(event("e-show", good("b-show", [])));
    expect(await view("b-show")).toMatchObject({
      status: 200,
      body: { batchId: "b-show", eventId: "e-show", state: "rejected", error: { field: "data.items" } },
    });
    // A batch that names no id is found under the event's own id, the one PutEvents returned to its sender.
    const byEvent = (await submit(event("e-unnamed", { items: [], outputPrefix: "output/x/" }))) as { batchId: string };
    expect(byEvent.batchId).toBe("e-unnamed");
    expect((await view("e-unnamed")).body).toMatchObject({ state: "rejected", eventId: "e-unnamed" });
    // An event id that cannot be a batch id (a `:` here) is named by a digest of it, and the answer says which.
    const odd = (await submit(event("e:odd", { items: [], outputPrefix: "output/x/" }))) as { batchId: string };
    expect(odd.batchId).toMatch(/^[0-9a-f]{32}$/);
    expect((await view(odd.batchId)).body).toMatchObject({ state: "rejected", eventId: "e:odd" });
  });

  it("starts a batch that names no id under its event's id", async () => {
    const { batchId: _, ...unnamed } = good("unused");
    expect(await submit(event("6f1c2d9e-0b7a-4c1e-9a53-2f0e7d1b4c88", unnamed))).toMatchObject({
      batchId: "6f1c2d9e-0b7a-4c1e-9a53-2f0e7d1b4c88",
      items: 1,
    });
    await settle();
    expect((await view("6f1c2d9e-0b7a-4c1e-9a53-2f0e7d1b4c88")).body).toMatchObject({
      state: "done",
      counts: { done: 1 },
    });
  });

  it("still starts a corrected event with the same batch id after a refusal", async () => {
    await submit(event("e-fix-1", { ...good("b-fix"), outputPrefix: "input/" }));
    expect((await view("b-fix")).body.state).toBe("rejected");
    expect(await submit(event("e-fix-2", good("b-fix")))).toMatchObject({ batchId: "b-fix", items: 1 });
    await settle();
    expect((await view("b-fix")).body).toMatchObject({ state: "done", counts: { done: 1 } });
  });

  it("tells the event's webhook, signed, when it names a usable one", async () => {
    const before = hooks.length;
    await submit(event("e-hook", { ...good("b-hook"), items: [], notify: { url: hookAt() } }));
    expect(hooks.length - before).toBe(1);
    const hook = hooks.at(-1)!;
    expect(hook.headers["x-tts-signature"]).toBe(
      `v1=${createHmac("sha256", SECRET).update(`${hook.headers["x-tts-timestamp"]}.${hook.body}`).digest("hex")}`,
    );
    expect(JSON.parse(hook.body)).toMatchObject({
      type: "tts.batch.rejected",
      batchId: "b-hook",
      state: "rejected",
      error: { field: "data.items" },
    });
  });

  it("does not follow a webhook's redirect", async () => {
    const before = hooks.length;
    await submit(event("e-moved", { ...good("b-moved"), items: [], notify: { url: hookAt("/moved") } }));
    expect(hooks.length).toBe(before);
    expect(logs.some((l) => l.includes("batch webhook failed") && l.includes("not followed"))).toBe(true);
  });

  it("answers a refused event delivered through EventBridge once: no FC retries", async () => {
    const failedInvocations = () => logs.filter((l) => l.includes("async invocation failed")).length;
    const before = failedInvocations();
    expect((await publish(cloud(), [event("e-once", good("b-once", []))])).failed).toBe(0);
    await settle();
    expect(failedInvocations()).toBe(before);
    expect((await view("b-once")).body.state).toBe("rejected");
  });
});

describe("hostile EventBridge events: bad items fail alone, with their reasons", () => {
  it("starts the batch, fails each bad item naming its problem, and finishes the good ones", async () => {
    const items = [
      item("ok"),
      item("blank", { text: " \n\t " }),
      item("nul", { text: "前\u0000后" }),
      item("bell", { text: "响\u0007铃" }),
      item("surrogate", { text: "半个\ud800字" }),
      item("smuggled", { text: '<speak><audio src="http://evil.example/x.mp3"/></speak>' }),
      item("bad-ssml", { ssml: "<speak><break time=" }),
      item("nested", { ssml: "<speak><speak>套娃</speak></speak>" }),
      item("escape", { input: { key: "../secrets.txt" } }),
      item("outside", { input: { key: "jobs/records/x.json" } }),
      item("missing", { input: { key: "input/no-such-file.txt" } }),
      item("voice", { text: "好", overrides: { voice: "nobody" } }),
      item("rate", { text: "好", overrides: { sampleRate: 44100 } }),
      item("output", { text: "好", output: { key: "input/overwrite.mp3" } }),
      item("nothing", {}),
    ];
    const started = await submit(
      event("e-items", {
        batchId: "b-items",
        items,
        outputPrefix: "output/b-items/",
        defaults: { voice: "siqi", format: "mp3" },
      }),
    );
    expect(started).toMatchObject({ batchId: "b-items", items: items.length });
    await settle();
    const { body } = await view("b-items");
    const reasons = Object.fromEntries(
      body.items!.map((i) => [i.id, i.state === "failed" ? i.failure?.reason : i.state]),
    );
    expect(reasons).toMatchObject({
      ok: "done",
      smuggled: "done", // spoken as text: read as SSML, <audio> would have been refused by NLS (413)
      blank: expect.stringMatching(/must contain text/),
      nul: expect.stringMatching(/control character U\+0000 at index 1/),
      bell: expect.stringMatching(/control character U\+0007/),
      surrogate: expect.stringMatching(/unpaired UTF-16 surrogate U\+D800 at index 2/),
      "bad-ssml": expect.stringMatching(/ssml/i),
      nested: expect.stringMatching(/ssml|speak/i),
      escape: expect.stringMatching(/items\[escape\]\.input\.key.*'\.\.'/),
      outside: expect.stringMatching(/items\[outside\]\.input\.key.*input prefix/),
      missing: expect.stringMatching(/items\[missing\]\.input\.key/),
      voice: expect.stringMatching(/unknown NLS voice "nobody"/),
      rate: expect.stringMatching(/items\[rate\]\.overrides\.sampleRate: must be 8000 or 16000/),
      output: expect.stringMatching(/items\[output\]\.output\.key.*output prefix/),
      nothing: expect.stringMatching(/one of text, ssml or input/),
    });
    expect(body.state).toBe("partial");
  });

  it("takes EventBridge's batching mode: an array of serialized events, each judged on its own", async () => {
    const result = await submit([
      JSON.stringify(event("e-arr-1", good("b-arr-1"))),
      JSON.stringify(event("e-arr-2", good("b-arr-2", []))),
      "not json at all",
    ]);
    expect(result).toMatchObject([
      { batchId: "b-arr-1", items: 1 },
      { state: "rejected", batchId: "b-arr-2", error: { field: "data.items" } },
      { state: "rejected", error: { field: "event" } },
    ]);
    await settle();
    expect((await view("b-arr-1")).body.state).toBe("done");
  });

  it("reads data sent as a JSON string with datacontenttype application/json", async () => {
    expect(await submit(event("e-json-str", JSON.stringify(good("b-json-str"))))).toMatchObject({
      batchId: "b-json-str",
      items: 1,
    });
  });
});
