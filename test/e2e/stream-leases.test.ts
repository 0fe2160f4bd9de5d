/**
 * Every stream path that starts a provider task takes a lease from the account's budget first: the NLS- and
 * DashScope-compatible WebSockets and the timed stream too. Past the budget each is refused in its own protocol's
 * words for too many requests (NLS 40000005, DashScope Throttling.RateQuota, HTTP 429 with Retry-After) and no task
 * starts upstream; within it, each lease is given back when the task ends.
 */
import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { AccountBudget, type Lease } from "../../lib/budget/account-budget.js";
import { eventually, ownerStorage, useLocalCloud } from "../helpers/local-cloud.js";
import { API_KEY, useStreamServer } from "../helpers/stream-server.js";
import { cosyCommand, cosyRunTask, nlsStart } from "../helpers/wire.js";

const LIMITS = {
  "nls-ws": { concurrency: 2, interactive: 1, interactivePerSecond: 0 },
  cosyvoice: { concurrency: 2, interactive: 1, interactivePerSecond: 0 },
};
const cloud = useLocalCloud();
const stream = useStreamServer(cloud, { TTS_CACHE: "false", PROVIDER_BUDGET: JSON.stringify(LIMITS) });

function budget(): AccountBudget {
  return new AccountBudget({ bucket: ownerStorage(cloud()), root: "jobs/budget/", limits: LIMITS });
}

/** Other streams holding all the API's tasks (both: a stream may take any free one); `give()` gives them back. */
async function holdTheTasks(api: "nls-ws" | "cosyvoice"): Promise<{ give: () => Promise<void> }> {
  const leases: Lease[] = [];
  for (let i = 0; i < LIMITS[api].concurrency; i++) {
    const got = await budget().tryTake({
      api,
      holder: randomUUID(),
      tenant: "someone-else",
      group: "someone-else",
      cls: "interactive",
      ttlMs: 60_000,
    });
    if ("refused" in got) throw new Error(`the test could not take ${api}'s tasks`);
    leases.push(got);
  }
  return { give: async () => void (await Promise.all(leases.map((l) => l.give()))) };
}

const live = async (api: "nls-ws" | "cosyvoice") => (await budget().snapshot(api)).leases.length;

/**
 * A socket's session: `send` once it opens, the audio bytes counted, until the first text frame `ended` picks out
 * (the protocol's task failure or completion), which answers with its header and the audio before it.
 */
function session(
  ws: WebSocket,
  send: () => void,
  ended: (header: Record<string, unknown>) => boolean,
): Promise<{ header: Record<string, unknown>; audio: number }> {
  return new Promise((resolve, reject) => {
    let audio = 0;
    ws.on("open", send);
    ws.on("error", reject);
    ws.on("message", (data, binary) => {
      if (binary) {
        audio += (data as Buffer).length;
        return;
      }
      const { header } = JSON.parse(data.toString());
      if (!ended(header)) return;
      resolve({ header, audio });
      ws.close();
    });
  });
}

/** The NLS socket's frames until the first TaskFailed or SynthesisCompleted. */
async function nlsSession(text: string): Promise<{ name: string; status: number; text: string; audio: number }> {
  const ws = new WebSocket(`${stream().wsUrl}/ws/v1`, { headers: { "X-NLS-Token": API_KEY } });
  const { header, audio } = await session(
    ws,
    () => ws.send(nlsStart(text)),
    (h) => h.name === "TaskFailed" || h.name === "SynthesisCompleted",
  );
  return {
    name: header.name as string,
    status: header.status as number,
    text: (header.status_text as string) ?? "",
    audio,
  };
}

/** A CosyVoice task's events until task-failed or task-finished. */
async function cosyvoiceSession(
  text: string,
): Promise<{ event: string; code?: string; message?: string; audio: number }> {
  const ws = new WebSocket(`${stream().wsUrl}/api-ws/v1/inference`, {
    headers: { authorization: `bearer ${API_KEY}` },
  });
  const id = randomUUID();
  const { header, audio } = await session(
    ws,
    () => {
      ws.send(JSON.stringify(cosyRunTask(id, { format: "pcm" })));
      // Sent at once, before task-started: held with the run-task while its lease is asked for, never lost.
      ws.send(JSON.stringify(cosyCommand("continue-task", id, { input: { text } })));
      ws.send(JSON.stringify(cosyCommand("finish-task", id, { input: {} })));
    },
    (h) => h.event === "task-failed" || h.event === "task-finished",
  );
  return {
    event: header.event as string,
    code: header.error_code as string | undefined,
    message: header.error_message as string | undefined,
    audio,
  };
}

/** A live stream's messages: start, one sentence, end; until the service closes the socket. */
function liveSession(provider: "nls" | "cosyvoice"): Promise<Array<Record<string, unknown>>> {
  const ws = new WebSocket(`${stream().wsUrl}/v1/live`, { headers: { authorization: `Bearer ${API_KEY}` } });
  const messages: Array<Record<string, unknown>> = [];
  return new Promise((resolve, reject) => {
    ws.on("error", reject);
    ws.on("open", () => {
      ws.send(JSON.stringify({ type: "start", provider, format: "pcm" }));
      ws.send(JSON.stringify({ type: "text", text: "实时的一句话。" }));
      ws.send(JSON.stringify({ type: "end" }));
    });
    ws.on("message", (d, binary) => {
      if (!binary) messages.push(JSON.parse(d.toString()));
    });
    ws.on("close", () => resolve(messages));
  });
}

describe("stream paths and the account's budget", () => {
  afterEach(async () => {
    await eventually(async () => (await live("nls-ws")) === 0 && (await live("cosyvoice")) === 0, 3000);
  });

  it("NLS WebSocket: refused with 40000005 past the budget, no task started; within it, the lease given back at the end", async () => {
    const tasks = cloud().nls.gateway.stats.tasks;
    const held = await holdTheTasks("nls-ws");
    const refused = await nlsSession("预算用完时，这句话不会被合成。");
    await held.give();
    expect(refused).toMatchObject({ name: "TaskFailed", status: 40000005, audio: 0 });
    expect(refused.text).toMatch(/^Gateway:TOO_MANY_REQUESTS:.*nls-ws budget.*retry in \d+ s/);
    expect(cloud().nls.gateway.stats.tasks).toBe(tasks);

    const spoken = await nlsSession("预算有空时，这句话会被合成。");
    expect(spoken.name).toBe("SynthesisCompleted");
    expect(spoken.audio).toBeGreaterThan(0);
    await eventually(async () => (await live("nls-ws")) === 0, 2000);
    expect(await live("nls-ws")).toBe(0);
  });

  it("DashScope WebSocket: refused with Throttling.RateQuota past the budget, nothing sent upstream; within it, the run-task and what followed it go up once the lease is held", async () => {
    const tasks = cloud().dashscope.cosyvoice.stats.tasks;
    const held = await holdTheTasks("cosyvoice");
    const refused = await cosyvoiceSession("预算用完时，这句话不会被合成。");
    await held.give();
    expect(refused).toMatchObject({ event: "task-failed", code: "Throttling.RateQuota", audio: 0 });
    expect(refused.message).toMatch(/cosyvoice budget.*retry in \d+ s/);
    expect(cloud().dashscope.cosyvoice.stats.tasks).toBe(tasks);

    const spoken = await cosyvoiceSession("预算有空时，这句话会被合成。");
    expect(spoken.event).toBe("task-finished");
    expect(spoken.audio).toBeGreaterThan(0);
    expect(cloud().dashscope.cosyvoice.stats.tasks).toBe(tasks + 1);
  });

  it.each([
    ["nls", "nls-ws"],
    ["cosyvoice", "cosyvoice"],
  ] as const)(
    "live stream (%s): refused past the budget before any task, saying when to retry; within it, its lease given back at the end",
    async (provider, api) => {
      const tasks = () => cloud().nls.gateway.stats.tasks + cloud().dashscope.cosyvoice.stats.tasks;
      const before = tasks();
      const held = await holdTheTasks(api);
      const refused = await liveSession(provider);
      await held.give();
      expect(refused).toEqual([
        expect.objectContaining({ type: "error", error: expect.objectContaining({ code: "ProviderBudgetSpent" }) }),
      ]);
      expect(tasks()).toBe(before);

      const spoken = await liveSession(provider);
      expect(spoken[0]).toMatchObject({ type: "started" });
      expect(spoken.at(-1)).toMatchObject({ type: "end", reason: "done" });
      await eventually(async () => (await live(api)) === 0, 2000);
      expect(await live(api)).toBe(0);
    },
  );

  it("timed stream (word timings): 429 with Retry-After past the budget; within it, the lease given back at the end", async () => {
    const tasks = cloud().nls.gateway.stats.tasks;
    const ask = () =>
      fetch(`${stream().url}/v1/stream`, {
        method: "POST",
        headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ text: "这句话带着每个字的时间。", voice: "siqi", format: "pcm", timestamps: true }),
      });
    const held = await holdTheTasks("nls-ws");
    const refused = await ask();
    await held.give();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("ProviderBudgetSpent");
    expect(cloud().nls.gateway.stats.tasks).toBe(tasks);

    const timed = await ask();
    expect(timed.status).toBe(200);
    expect(await timed.text()).toMatch(/"type":"word"/);
    await eventually(async () => (await live("nls-ws")) === 0, 2000);
    expect(await live("nls-ws")).toBe(0);
  });
});
