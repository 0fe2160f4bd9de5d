/**
 * Spending caps per key: a job that would pass its key's cap is refused up front (429 for characters, 402 for money,
 * naming the cap and what is left); jobs already running stop starting parts at the cap, so the overshoot is at most
 * the parts in flight, and no task starts after a part has been refused.
 */
import { describe, expect, it } from "vitest";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { ownerOfKey } from "../../lib/auth.js";
import { useFunctionHost } from "../helpers/function-host.js";
import { settle as settleAll, submitJob } from "../helpers/jobs.js";
import { useLocalCloud, userOss } from "../helpers/local-cloud.js";

const cloud = useLocalCloud({ engine: new FastEngine(), longText: { queueMs: 20, runMs: 5 } });
const [CHARS, MONEY, RUNNING] = ["caps-chars-key-01", "caps-money-key-01", "caps-running-key1"];
const host = useFunctionHost(cloud, {
  TTS_API_KEYS: [CHARS, MONEY, RUNNING].join(","),
  JOBS_PART_CHARS: "100",
  JOBS_PART_CONCURRENCY: "1",
  PRICES: JSON.stringify({ currency: "CNY", perTenThousandCharacters: { nls: 2 } }),
  TTS_API_KEY_CAPS: JSON.stringify({
    [CHARS]: { charactersPerDay: 100 },
    [MONEY]: { moneyPerMonth: 0.01 },
    [RUNNING]: { charactersPerDay: 300 },
  }),
});
const settle = () => settleAll(host, cloud());

async function post(
  key: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${host.url}/v1/jobs`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** `chars` characters, every one different from its neighbours (parts with the same text are one part, shared). */
const text = (chars: number, from = 0x4e00) =>
  `${Array.from({ length: chars - 1 }, (_, i) => String.fromCodePoint(from + i)).join("")}。`;

describe("spending caps", () => {
  it("refuses up front a job over the key's character cap (429) or money cap (402), naming the cap and what is left", async () => {
    expect(await post(CHARS, { voice: "siqi", text: text(150) })).toMatchObject({
      status: 429,
      body: { error: { code: "CapExceeded", cap: "charactersPerDay", limit: 100, left: 100 } },
    });
    // 0.01 CNY at 2 CNY per 10,000 characters is 50 characters.
    expect(await post(MONEY, { voice: "siqi", text: text(60) })).toMatchObject({
      status: 402,
      body: { error: { code: "CapExceeded", cap: "moneyPerMonth", limit: 0.01, left: 0.01 } },
    });
    // Within it, it runs, and what it started is counted against the cap.
    const made = await post(CHARS, { voice: "siqi", text: text(80) }, { "idempotency-key": "caps-replay-1" });
    const id = made.body.id as string;
    await settle();
    expect((await host.platform.jobs().jobs.get(id))?.state).toBe("done");
    expect(await post(CHARS, { voice: "siqi", text: text(30) })).toMatchObject({
      status: 429,
      body: { error: { cap: "charactersPerDay", left: 20 } },
    });
    // A replay of the job it made (the same request, the same Idempotency-Key) is answered with that job, cap or not:
    // it bills nothing more.
    const replay = await post(CHARS, { voice: "siqi", text: text(80) }, { "idempotency-key": "caps-replay-1" });
    expect(replay.status).toBeLessThan(300);
    expect(replay.body.id).toBe(id);
  });

  it("stops running jobs at the cap: the overshoot is at most the parts in flight, and nothing starts after", async () => {
    const before = cloud().nls.longText.stats.submitted;
    // Both pass the check up front (nothing is spent yet), 250 characters each in three parts: 500 against a cap of 300.
    const ids = await Promise.all(
      [0x5000, 0x6000].map((from) => submitJob(host, RUNNING, { voice: "siqi", text: text(250, from) })),
    );
    await settle();
    const jobs = await Promise.all(ids.map(async (id) => (await host.platform.jobs().jobs.get(id))!));
    const capped = jobs.filter((j) => j.failure?.code === "CapExceeded");
    expect(capped.length).toBeGreaterThanOrEqual(1);
    expect(capped[0]!.failure!.reason).toMatch(/charactersPerDay is 300 characters/);
    // What was counted is what was started: one task per counted part, and no more than the cap plus one part in
    // flight per job.
    const usage =
      (await userOss(cloud()).list({ prefix: `jobs/usage/${ownerOfKey(RUNNING)}/`, "max-keys": 100 }, {})).objects ??
      [];
    const counted = usage.map((o) => Number(/-(\d+)$/.exec(o.name)![1]));
    const tasks = cloud().nls.longText.stats.submitted - before;
    expect(counted).toHaveLength(tasks);
    const total = counted.reduce((a, b) => a + b, 0);
    expect(total).toBeLessThanOrEqual(300 + 2 * 100);
    expect(total).toBeGreaterThan(200);
  });
});
