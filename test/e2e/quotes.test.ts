/**
 * Quotes: what a job, a book or a batch will bill and take, before anything runs, equal to what the finished jobs
 * record, and `dryRun: true` on a submission answering the same without making anything.
 */
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { useFunctionHost } from "../helpers/function-host.js";
import { settle as settleAll, submitJob } from "../helpers/jobs.js";
import { useLocalCloud, userOss } from "../helpers/local-cloud.js";

const cloud = useLocalCloud({ engine: new FastEngine(), longText: { queueMs: 1, runMs: 1 } });
const KEY = "quotes-key-0001";
const host = useFunctionHost(cloud, {
  TTS_API_KEYS: KEY,
  JOBS_PART_CHARS: "200",
  PRICES: JSON.stringify({ currency: "CNY", perTenThousandCharacters: { nls: 2, ice: 2.5, minimax: 3.5 } }),
});
const settle = () => settleAll(host, cloud());

async function post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${host.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const markdown = (chapters: number): string =>
  Array.from({ length: chapters }, (_, c) => `# 第${c + 1}章\n\n${"这一章的正文，有好几句话。".repeat(8)}\n`).join(
    "\n",
  );
const LONG = Array.from({ length: 40 }, (_, i) => `第${i}句话，<break/>有标点。`).join("");

describe("quotes", () => {
  it("quote each job exactly as the finished job bills it: plain, SSML, split, labelled, on each provider", async () => {
    const bodies = [
      { provider: "nls", voice: "siqi", text: "你好，世界。Hello world!" },
      { provider: "nls", voice: "siqi", ssml: `<speak>${'测试<break time="200ms"/>文本。'.repeat(30)}</speak>` },
      { provider: "nls", voice: "siqi", text: LONG.replace(/<break\/>/g, "") },
      { provider: "ice", voice: "siqi", text: "ICE 的任务。", label: { audible: true } },
      { provider: "minimax", voice: "male-qn-qingse", text: "MiniMax 的任务，一共二十个字符左右。", subtitles: [] },
    ];
    const before = { nls: cloud().nls.longText.stats.submitted, ice: cloud().ice.stats.submitted };
    const quotes = [];
    for (const body of bodies) {
      const q = await post("/v1/quotes", body);
      expect(q.status).toBe(200);
      quotes.push(q.body);
    }
    // Quoting called no provider.
    expect({ nls: cloud().nls.longText.stats.submitted, ice: cloud().ice.stats.submitted }).toEqual(before);
    expect(quotes[2]).toMatchObject({ kind: "job", provider: "nls", tasks: expect.any(Number) });
    expect(quotes[2]!.tasks as number).toBeGreaterThan(1);
    expect(quotes[3]!.tasks).toBe(2); // the audible notice is a task of its own
    expect(quotes[0]!.price).toEqual({
      currency: "CNY",
      amount: Math.round((((quotes[0]!.characters as number) * 2) / 10_000) * 10_000) / 10_000,
    });
    const ids = [];
    for (const body of bodies) ids.push(await submitJob(host, KEY, body));
    await settle();
    for (const [i, id] of ids.entries()) {
      const job = (await host.platform.jobs().jobs.get(id))!;
      expect(job.state, `job ${i}`).toBe("done");
      expect(quotes[i]!.characters, `job ${i}`).toBe(job.characters);
      expect(quotes[i]!.tasks, `job ${i}`).toBe(job.parts?.length ?? 1);
    }
  });

  it("quotes a book, and a batch with items inline and by reference, item by item", async () => {
    const book = await post("/v1/quotes", { markdown: markdown(3), voice: "siqi", format: "mp3" });
    expect(book).toMatchObject({ status: 200, body: { kind: "book", provider: "nls" } });
    await userOss(cloud()).put("input/quotes/item.txt", Buffer.from("从文件读来的文本。"));
    const batch = await post("/v1/quotes", {
      items: [
        { id: "a", text: "第一条。" },
        { id: "b", input: { key: "input/quotes/item.txt" } },
        { id: "bad", text: "x", overrides: { voice: "nobody" } },
      ],
      defaults: { voice: "siqi", format: "mp3" },
      outputPrefix: "output/quotes/",
    });
    expect(batch.status).toBe(200);
    expect(batch.body).toMatchObject({ kind: "batch", characters: 4 + 9, tasks: 2 });
    const items = batch.body.items as Array<Record<string, unknown>>;
    expect(items.map((i) => i.characters ?? null)).toEqual([4, 9, null]);
    expect(items[2]).toMatchObject({ error: { field: "voice" } });
  });

  it("answers dryRun: true on a submission with the quote, and makes nothing", async () => {
    const body = { provider: "nls", voice: "siqi", text: LONG.replace(/<break\/>/g, "") };
    const quote = await post("/v1/quotes", body);
    const listed = async () =>
      (
        (await (await fetch(`${host.url}/v1/jobs`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as {
          jobs: unknown[];
        }
      ).jobs.length;
    const before = await listed();
    const dry = await post("/v1/jobs", { ...body, dryRun: true });
    expect(dry).toEqual({ status: 200, body: quote.body });
    const dryBook = await post("/v1/books", { markdown: markdown(2), voice: "siqi", dryRun: true });
    expect(dryBook.body).toMatchObject({ kind: "book", characters: expect.any(Number), tasks: 2 });
    expect(await listed()).toBe(before);
  });

  it("refuses a bad body naming the field, as the submission would", async () => {
    expect(await post("/v1/quotes", { provider: "nls", voice: "nobody", text: "x" })).toMatchObject({
      status: 400,
      body: { error: { field: "voice" } },
    });
  });

  it("answers the README's quote snippet as written", async () => {
    const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
    const snippet = /curl -s -X POST "\$BASE\/v1\/quotes"[^\n]*\n\s*-d '([^']+)'/.exec(readme);
    expect(snippet).not.toBeNull();
    const quote = await post("/v1/quotes", JSON.parse(snippet![1]!));
    expect(quote).toMatchObject({ status: 200, body: { kind: "job", provider: "nls", characters: 10, tasks: 1 } });
  });
});
