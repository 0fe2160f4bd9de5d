/**
 * Tenants and idempotency on the job API: what one API key created, no other key reads; an Idempotency-Key is scoped
 * to its key, replays identical retries and refuses a different request; concurrent identical requests all get the
 * one winner's job; output keys cannot lose the audio; malformed paths are 4xx.
 */
import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { ApiAuth, ownerOfKey } from "../../lib/auth.js";
import { useFunctionHost } from "../helpers/function-host.js";
import { settle as settleAll } from "../helpers/jobs.js";
import { useLocalCloud, userOss } from "../helpers/local-cloud.js";
import { useWebhookSink } from "../helpers/webhooks.js";

const cloud = useLocalCloud({ engine: new FastEngine(), longText: { queueMs: 5, runMs: 5 } });
const A = "tenant-a-key-0001";
const B = "tenant-b-key-0002";
const host = useFunctionHost(cloud, { TTS_API_KEYS: `${A},${B}` });
const { hooks, url: hookAt } = useWebhookSink();
const settle = () => settleAll(host, cloud());

const api = (key: string, path: string, init: RequestInit = {}) =>
  fetch(`${host.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...(init.headers ?? {}) },
  });
const post = (key: string, body: unknown, headers: Record<string, string> = {}) =>
  api(key, "/v1/jobs", { method: "POST", body: JSON.stringify(body), headers });

describe("tenants", () => {
  it("answers another key's job, and its signed URLs, with 404; the owner reads it; the record keeps a digest, never the key", async () => {
    const res = await post(A, { text: "甲的作业。只有甲能读。" });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await settle();
    const own = await api(A, `/v1/jobs/${id}`);
    expect(own.status).toBe(200);
    expect(((await own.json()) as { outputs?: { audio?: { url: string } } }).outputs?.audio?.url).toMatch(
      /Signature|x-oss-signature/i,
    );
    const other = await api(B, `/v1/jobs/${id}`);
    expect(other.status).toBe(404);
    const body = (await other.json()) as { error: { code: string } };
    expect(body.error.code).toBe("NotFound");
    expect(JSON.stringify(body)).not.toMatch(/outputs|url/);
    const record = (await host.platform.clients.storage.get(`jobs/records/${id}.json`))!.toString();
    expect(JSON.parse(record).owner).toBe(ownerOfKey(A));
    expect(record).not.toContain(A);
  });

  it("scopes an Idempotency-Key to its key: B's request with A's key header makes B's own job", async () => {
    const body = { text: "同一个幂等键，不同的租户。" };
    const a = (await (await post(A, body, { "idempotency-key": "shared-key-1" })).json()) as { id: string };
    const resB = await post(B, body, { "idempotency-key": "shared-key-1" });
    expect(resB.status).toBe(202);
    expect(resB.headers.get("idempotent-replayed")).toBeNull();
    const b = (await resB.json()) as { id: string };
    expect(b.id).not.toBe(a.id);
    // Identical content without a header is also per tenant.
    const c1 = (await (await post(A, { text: "内容相同。" })).json()) as { id: string };
    const c2 = (await (await post(B, { text: "内容相同。" })).json()) as { id: string };
    expect(c1.id).not.toBe(c2.id);
    await settle();
  });

  it("replays an identical retry and refuses a different body under the same Idempotency-Key with 422", async () => {
    const first = await post(A, { text: "第一次请求。" }, { "idempotency-key": "k-422" });
    const { id } = (await first.json()) as { id: string };
    const retry = await post(A, { text: "第一次请求。" }, { "idempotency-key": "k-422" });
    expect(retry.status).toBe(202);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(((await retry.json()) as { id: string }).id).toBe(id);
    // The same request with its fields in another order is the same request.
    const reordered = await post(A, { format: "mp3", text: "第一次请求。" }, { "idempotency-key": "k-422" });
    expect(reordered.status).toBe(202);
    const conflict = await post(A, { text: "完全不同的请求。" }, { "idempotency-key": "k-422" });
    expect(conflict.status).toBe(422);
    expect(((await conflict.json()) as { error: { field: string; code: string } }).error).toMatchObject({
      field: "Idempotency-Key",
      code: "IdempotencyKeyReused",
    });
    await settle();
  });

  it("gives all 30 identical concurrent requests the one winner's job (202, replayed for the losers)", async () => {
    const body = { text: `三十个相同的请求同时到达。${Date.now()}` };
    const key = `race-${Date.now()}`;
    const answers = await Promise.all(Array.from({ length: 30 }, () => post(A, body, { "idempotency-key": key })));
    expect(answers.map((r) => r.status)).toEqual(Array(30).fill(202));
    const ids = new Set(await Promise.all(answers.map(async (r) => ((await r.json()) as { id: string }).id)));
    expect(ids.size).toBe(1);
    expect(answers.filter((r) => r.headers.get("idempotent-replayed") === "true").length).toBeGreaterThanOrEqual(29);
    await settle();
  });
});

describe("finding jobs without their id", () => {
  type Page = { jobs: Array<{ id: string; state: string }>; next?: string };
  const list = async (key: string, query: string) => {
    const res = await api(key, `/v1/jobs${query}`);
    return { status: res.status, body: (await res.json()) as Page & { error?: { field: string } } };
  };

  it("lists only the caller's own jobs, newest first, a page at a time", async () => {
    const ownA: string[] = [];
    for (const text of ["列表一。", "列表二。", "列表三。"]) {
      ownA.push(((await (await post(A, { text })).json()) as { id: string }).id);
      await new Promise((r) => setTimeout(r, 5));
    }
    const b = ((await (await post(B, { text: "乙的列表。" })).json()) as { id: string }).id;
    await settle();
    const first = await list(A, "?limit=2");
    expect(first.status).toBe(200);
    expect(first.body.jobs.map((j) => j.id)).toEqual([ownA[2], ownA[1]]);
    expect(first.body.next).toMatch(/^\d{13}-/);
    const seen = first.body.jobs.map((j) => j.id);
    let next = first.body.next;
    while (next) {
      const page = await list(A, `?limit=2&after=${encodeURIComponent(next)}`);
      seen.push(...page.body.jobs.map((j) => j.id));
      next = page.body.next;
    }
    expect(seen.slice(0, 3)).toEqual([...ownA].reverse());
    expect(seen).not.toContain(b);
    expect(new Set(seen).size).toBe(seen.length);
    const ofB = await list(B, "");
    expect(ofB.body.jobs.map((j) => j.id)).toContain(b);
    expect(ofB.body.jobs.map((j) => j.id)).not.toContain(ownA[0]);
  });

  it("finds an upload's job by its input key, for any key; a key's own job from an input only for that key", async () => {
    await userOss(cloud()).put("input/find/me.txt", Buffer.from("按输入找到作业。"));
    await settle();
    const byA = await list(A, "?input=input/find/me.txt");
    const byB = await list(B, "?input=input/find/me.txt");
    expect(byA.body.jobs).toHaveLength(1);
    expect(byA.body.jobs[0]).toMatchObject({ state: "done" });
    expect(byB.body.jobs.map((j) => j.id)).toEqual(byA.body.jobs.map((j) => j.id));
    // A's job that reads the same input is A's alone.
    const own = ((await (await post(A, { input: { key: "input/find/me.txt" } })).json()) as { id: string }).id;
    await settle();
    expect((await list(A, "?input=input/find/me.txt")).body.jobs.map((j) => j.id)).toContain(own);
    expect((await list(B, "?input=input/find/me.txt")).body.jobs.map((j) => j.id)).not.toContain(own);
    expect((await list(A, "?input=input/never/uploaded.txt")).body.jobs).toEqual([]);
  });

  it("serves a done job's subtitles through the API to its owner only, and names what is missing", async () => {
    const id = ((await (await post(A, { text: "字幕一。字幕二。" })).json()) as { id: string }).id;
    await settle();
    const vtt = await api(A, `/v1/jobs/${id}/subtitles?format=vtt`);
    expect(vtt.status).toBe(200);
    expect(vtt.headers.get("content-type")).toMatch(/^text\/vtt/);
    expect(await vtt.text()).toMatch(/^WEBVTT\n\n00:00:00\.\d{3} --> .*\n字幕一。/);
    expect(await (await api(A, `/v1/jobs/${id}/subtitles?format=srt`)).text()).toMatch(/^1\n00:00:00,\d{3} --> /);
    expect((await api(B, `/v1/jobs/${id}/subtitles`)).status).toBe(404);
    const bad = await api(A, `/v1/jobs/${id}/subtitles?format=xml`);
    expect([bad.status, ((await bad.json()) as { error: { field: string } }).error.field]).toEqual([400, "format"]);
    const none = ((await (await post(A, { text: "没有字幕。", voice: "xiaoyun" })).json()) as { id: string }).id;
    await settle();
    const missing = await api(A, `/v1/jobs/${none}/subtitles`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toMatch(
      /no vtt subtitles.*xiaoyun/,
    );
  });

  it("refuses a bad page size, cursor or input key naming the parameter", async () => {
    for (const [query, field] of [
      ["?limit=0", "limit"],
      ["?limit=101", "limit"],
      ["?after=../../records/x", "after"],
      ["?input=output/x.txt", "input"],
      ["?owner=someone", "owner"],
    ] as const) {
      const res = await list(A, query);
      expect(res.status, query).toBe(400);
      expect(res.body.error?.field, query).toBe(field);
    }
  });
});

describe("refusals name the field the user wrote", () => {
  it("subtitles on a voice without timestamps are refused as `subtitles`, not NLS's `enableSubtitle`", async () => {
    const res = await post(A, { text: "没有时间戳的声音。", voice: "xiaoyun", subtitles: ["srt"] });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { field: string; message: string } };
    expect(error.field).toBe("subtitles");
    expect(error.message).toMatch(/xiaoyun does not support timestamps.*"subtitles": \[\]/);
  });
});

describe("output keys and paths", () => {
  it.each([
    ["a subtitle extension", { text: "x。", output: { key: "output/t/a.srt" } }],
    ["another format's extension", { text: "x。", format: "mp3", output: { key: "output/t/a.wav" } }],
    [
      "an ICE job whose key does not end in its format",
      { text: "x。", provider: "ice", format: "mp3", output: { key: "output/t/a.wav" } },
    ],
    ["no extension", { text: "x。", output: { key: "output/t/a" } }],
  ])("refuses an output.key with %s, naming the field", async (_name, body) => {
    const res = await post(A, body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { field: string } }).error.field).toBe("output.key");
  });

  it.each([
    ["GET", "/v1/jobs/%ZZ"],
    ["GET", "/v1/batches/%E0%A4%A"],
    ["POST", "/callbacks/nls/%ZZ"],
  ])("answers %s %s with a 4xx JSON, not a 5xx", async (method, path) => {
    const res = await api(A, path, { method, ...(method === "POST" ? { body: "{}" } : {}) });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBeTruthy();
  });
});

describe("browser tokens", () => {
  it("act for the key that minted them, and stop when that key is removed, with or without TTS_TOKEN_SECRET", () => {
    let now = 1_000_000_000_000;
    for (const tokenSecret of [undefined, "a-fixed-token-secret-of-32-chars-or-more"]) {
      const before = new ApiAuth({ keys: [A, B], tokenSecret, now: () => now });
      const { token } = before.mintToken(ownerOfKey(A), 600);
      expect(before.ownerOf(token)).toBe(ownerOfKey(A));
      const after = new ApiAuth({ keys: [B], tokenSecret: tokenSecret ?? undefined, now: () => now });
      expect(after.ownerOf(token)).toBeUndefined();
      now += 601_000;
      expect(before.ownerOf(token)).toBeUndefined();
      now -= 601_000;
    }
  });

  it("minted by A over HTTP, reads A's jobs and not B's", async () => {
    const minted = (await (
      await fetch(`${host.url}/v1/tokens`, {
        method: "POST",
        headers: { authorization: `Bearer ${A}`, "content-type": "application/json" },
        body: "{}",
      })
    ).json()) as { token: string };
    const ofB = (await (await post(B, { text: "乙的作业。" })).json()) as { id: string };
    const ofA = (await (await post(A, { text: "甲的另一个作业。" })).json()) as { id: string };
    expect((await fetch(`${host.url}/v1/jobs/${ofA.id}?token=${encodeURIComponent(minted.token)}`)).status).toBe(200);
    expect((await fetch(`${host.url}/v1/jobs/${ofB.id}?token=${encodeURIComponent(minted.token)}`)).status).toBe(404);
    // The list takes the token as documented (it answered 400 before: issue 26, defect 6), and lists A's jobs only.
    const list = await fetch(`${host.url}/v1/jobs?token=${encodeURIComponent(minted.token)}`);
    expect(list.status).toBe(200);
    const ids = ((await list.json()) as { jobs: Array<{ id: string }> }).jobs.map((j) => j.id);
    expect(ids).toContain(ofA.id);
    expect(ids).not.toContain(ofB.id);
    await settle();
  });
});

describe("outputs are owned (issue 26, defect 5)", () => {
  it("takes explicit output keys only in the key's own namespace: never another key's, never an upload's", async () => {
    const prefixOf = async (key: string) =>
      (
        (await (await fetch(`${host.url}/v1/jobs`, { headers: { authorization: `Bearer ${key}` } })).json()) as {
          outputPrefix: string;
        }
      ).outputPrefix;
    const ofA = await prefixOf(A);
    const ofB = await prefixOf(B);
    expect(ofA).toMatch(/^output\/t-[0-9a-f]{16}\/$/);
    expect(ofB).not.toBe(ofA);
    for (const key of [`${ofA}stolen.mp3`, "output/a/b.mp3", "output/jobs/x.mp3"]) {
      const res = await post(B, { text: "乙想写别人的地方。", output: { key } });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { field: string; message: string } };
      expect(body.error.field).toBe("output.key");
      expect(body.error.message).toContain(ofB);
    }
    expect((await post(B, { text: "乙写自己的地方。", output: { key: `${ofB}own.mp3` } })).status).toBe(202);
    await settle();
  });
});

describe("webhooks never reach our own network (no WEBHOOK_ALLOW_PRIVATE)", () => {
  const event = (id: string, url: string) => ({
    id,
    source: "tts.batch",
    specversion: "1.0",
    type: "tts:Batch:Submitted",
    datacontenttype: "application/json",
    data: { batchId: id, items: [{ id: "a", text: "一句话。" }], outputPrefix: `output/${id}/`, notify: { url } },
  });

  it.each([
    ["an IPv4-mapped loopback", (port: string) => `http://[::ffff:127.0.0.1]:${port}/hooks`],
    ["a hex loopback", (port: string) => `http://0x7f.1:${port}/hooks`],
    ["the metadata service", () => "http://100.100.100.200/latest/meta-data/"],
    ["an IPv6 unique-local address", () => "http://[fd00::1]/hooks"],
  ])("refuses %s up front, naming data.notify.url, and sends nothing", async (name, url) => {
    const port = new URL(hookAt()).port;
    const id = `ssrf-${name.replace(/\W+/g, "-")}`;
    const answer = (await host.invoke("submit", event(id, url(port)))) as {
      state?: string;
      error?: { field?: string };
    };
    expect(answer).toMatchObject({ state: "rejected", error: { field: "data.notify.url" } });
    await settle();
    expect(hooks).toHaveLength(0);
  });

  it("checks a host name where it resolves: localhost gets no signed POST", async () => {
    const port = new URL(hookAt()).port;
    await host.invoke("submit", event("ssrf-name", `http://localhost:${port}/hooks`));
    await settle();
    expect(hooks).toHaveLength(0);
  });
});

describe("FC's HTTP trigger limits, emulated as the platform enforces them", () => {
  /** Sends raw bytes, resolves with the answer's status line (or "" if none comes within 2 s). */
  const raw = (bytes: string): Promise<string> =>
    new Promise((resolve) => {
      const socket = connect(Number(new URL(host.url).port), "127.0.0.1", () => socket.write(bytes));
      let answer = "";
      socket.on("data", (d) => (answer += d.toString("latin1")));
      socket.on("close", () => resolve(answer.split("\r\n")[0] ?? ""));
      socket.on("error", () => resolve(answer.split("\r\n")[0] ?? ""));
      setTimeout(() => socket.destroy(), 2000);
    });

  it("answers hostile request targets and upgrades on the local host, and stays up", async () => {
    expect(await raw("GET http://x/healthz HTTP/1.1\r\nHost: x\r\n\r\n")).toMatch(/^HTTP\/1\.1 200/);
    expect(await raw("GET /healthz HTTP/1.1\r\nHost: a:b\r\n\r\n")).toMatch(/^HTTP\/1\.1 200/);
    expect(await raw(`GET /v1/jobs/%ZZ HTTP/1.1\r\nHost: a:b\r\nAuthorization: Bearer ${A}\r\n\r\n`)).toMatch(
      /^HTTP\/1\.1 4\d\d/,
    );
    expect(
      await raw(
        "GET //a:b/ws/v1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      ),
    ).toMatch(/^HTTP\/1\.1 4\d\d/);
    expect(
      await raw(
        "GET * HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      ),
    ).toMatch(/^HTTP\/1\.1 4\d\d/);
    expect((await fetch(`${host.url}/healthz`)).status).toBe(200);
  });

  it("refuses a body declared over 32 MB at once, before any of it is sent", async () => {
    expect(
      await raw(
        `POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${A}\r\nContent-Type: application/json\r\nContent-Length: 40000000\r\n\r\n`,
      ),
    ).toMatch(/^HTTP\/1\.1 413/);
  });

  it("refuses headers over 8 KB and a path over 4 KB with 400", async () => {
    expect((await api(A, "/v1/jobs/x", { headers: { "x-padding": "p".repeat(9000) } })).status).toBe(400);
    expect((await api(A, `/v1/jobs/x?${"q".repeat(5000)}`)).status).toBe(400);
  });

  it("refuses a request without a valid key before its body is decoded or parsed", async () => {
    const res = await api("not-a-key", "/v1/jobs", { method: "POST", body: "{ not json at all" });
    expect(res.status).toBe(401);
  });
});
