/**
 * `npm run bench:budget`: one provider budget shared by a 10,000-item batch (by reference), two tenants' split jobs and
 * a listener's interactive streams, against MiniMax's emulated quota (DashScope's 429 over it). It reports:
 * - throttling errors that reached any caller (the quota's refusals, failed jobs and items, streams not answered 200);
 * - the listener's first-byte p95 under that load against the same requests on the idle stack;
 * - the quota's use while batches and jobs wait for it (tasks held ÷ concurrency, sampled every 200 ms);
 * - Jain's fairness index across the tenants waiting, of each tenant's tasks held against its max-min fair share;
 * - the quote's time per MB of text.
 * The emulators, the job functions and the stream function the listener talks to run in three processes
 * (bench/stream-stack.ts's cloud and server roles, and this one), as they are different machines in the cloud; they
 * share this machine's 2 cores, which bounds the figures under load. BUDGET_ITEMS (default 10,000) shrinks the batch.
 */
import { startFunctionHost } from "../infra/local/host.js";
import { ownerOfKey } from "../lib/auth.js";
import { AccountBudget } from "../lib/budget/account-budget.js";
import { fairShares } from "../lib/budget/fair-share.js";
import { createLogger } from "../lib/log.js";
import { OssStorage } from "../lib/storage/oss.js";
import { startChild } from "./children.js";
import type { Row } from "./nls-short.js";

const QUOTA = { concurrency: 40 };
// One task kept for streams: the listener asks one at a time, so one is what its demand needs; the rest is the jobs'.
const BUDGET = { minimax: { concurrency: 40, interactive: 1, interactivePerSecond: 0 } };
const VOICE = "male-qn-qingse";
const KEYS = { a: "bench-tenant-a-key", b: "bench-tenant-b-key" };
const OPERATOR = "operator";

const p95 = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Jain's index of `xs`: 1 when all are equal, 1/n when one has everything. */
export function jain(xs: readonly number[]): number {
  const sum = xs.reduce((a, b) => a + b, 0);
  const squares = xs.reduce((a, b) => a + b * b, 0);
  return squares === 0 ? 1 : (sum * sum) / (xs.length * squares);
}

export async function benchBudget(items = Number(process.env.BUDGET_ITEMS ?? 10_000)): Promise<Row[]> {
  // Three processes, as in the cloud three machines: the emulators (OSS, MiniMax with its quota), the job functions
  // (this one), and the stream function the listener talks to.
  const emulators = await startChild<{ env: Record<string, string>; statsUrl: string }>([
    "--role",
    "cloud",
    "--synth-ms-per-char",
    "20", // 100-character items at 20 ms a character: each MiniMax call takes about 2 s, as a real one that long does
    "--quotas",
    JSON.stringify({ minimax: QUOTA }),
  ]);
  const cloudStats = async () =>
    (await (await fetch(emulators.out.statsUrl)).json()) as {
      ossRequests: number;
      ossByKind: Record<string, number>;
      cpuMs: number;
      quotas: { minimax: { refused: number; running: number } };
    };
  const quotaStats = async () => (await cloudStats()).quotas.minimax;
  const cloudEnv = emulators.out.env;
  const env = {
    ...cloudEnv,
    TTS_API_KEYS: Object.values(KEYS).join(","),
    PROVIDER_BUDGET: JSON.stringify(BUDGET),
    BATCH_CONCURRENCY: "64",
    JOBS_PART_CONCURRENCY: "8",
    JOBS_PART_CHARS: "100",
    TTS_CACHE: "false",
    BUDGET_WAIT_SECONDS: "20",
  };
  const host = await startFunctionHost({ env, log: createLogger({ level: "error" }) });
  const stream = await startChild<{ url: string }>(["--role", "server", "--cache", "false"], {
    BENCH_ENV: JSON.stringify({ ...cloudEnv, PROVIDER_BUDGET: env.PROVIDER_BUDGET }),
  });
  const storage = new OssStorage({
    config: {
      bucket: cloudEnv.OSS_BUCKET!,
      region: `oss-${cloudEnv.REGION}`,
      accessKeyId: cloudEnv.ALIBABA_CLOUD_ACCESS_KEY_ID!,
      accessKeySecret: cloudEnv.ALIBABA_CLOUD_ACCESS_KEY_SECRET!,
      endpoint: cloudEnv.OSS_ENDPOINT!,
      pathStyle: true,
    },
  });
  const budget = new AccountBudget({ bucket: storage, root: "jobs/budget/", limits: BUDGET });
  const rows: Row[] = [];
  const streamErrors: number[] = [];
  const firstByte = async (i: number): Promise<number> => {
    const t0 = performance.now();
    const res = await fetch(`${stream.out.url}/v1/stream`, {
      method: "POST",
      headers: { authorization: "Bearer bench-key", "content-type": "application/json" },
      body: JSON.stringify({ provider: "minimax", voice: VOICE, text: `第${i}个问题的回答。`, format: "mp3" }),
    });
    const reader = res.body!.getReader();
    await reader.read();
    const ms = performance.now() - t0;
    while (!(await reader.read()).done);
    if (res.status !== 200) streamErrors.push(res.status);
    return ms;
  };
  try {
    // The listener alone: the idle figure.
    const idle: number[] = [];
    for (let i = 0; i < 40; i++) idle.push(await firstByte(i));

    const text = (n: number, tag: string) =>
      Array.from({ length: n }, (_, i) => `${tag}第${i}句话，内容各不相同，编号${i}。`).join("");
    const lines = Array.from({ length: items }, (_, i) =>
      JSON.stringify({
        id: `n${i}`,
        text: `第${i}条新闻。${"今天的天气很好，适合出门散步，也适合读书。".repeat(5)}`.slice(0, 100),
      }),
    );
    await storage.put("input/bench-budget/items.jsonl", `${lines.join("\n")}\n`);
    const t0 = performance.now();
    const elu0 = performance.eventLoopUtilization();
    const cloud0 = await cloudStats();
    await host.invoke("submit", {
      id: "bench-budget",
      source: "tts.batch",
      specversion: "1.0",
      type: "tts:Batch:Submitted",
      data: {
        batchId: "bench-budget",
        defaults: { provider: "minimax", voice: VOICE, format: "mp3", subtitles: [] },
        itemsFrom: { key: "input/bench-budget/items.jsonl" },
        outputPrefix: "output/bench-budget/",
      },
    });
    // Two tenants' split jobs, each asking for 8 tasks at once, over and again while the batch runs.
    const tenantJobs: string[] = [];
    const submitTenant = async (key: string, n: number) => {
      const res = await fetch(`${host.url}/v1/jobs`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({
          provider: "minimax",
          voice: VOICE,
          text: text(120, `${key}${n}`),
          format: "mp3",
          subtitles: [],
        }),
      });
      tenantJobs.push(((await res.json()) as { id: string }).id);
    };
    await Promise.all([submitTenant(KEYS.a, 0), submitTenant(KEYS.b, 0)]);

    // Samples: the quota's use, and each tenant's tasks held against its fair share, while batches and jobs wait.
    const samples: Array<{ running: number; held: Map<string, number>; shares: Map<string, number> }> = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const snap = await budget.snapshot("minimax");
        const background = snap.leases.filter((l) => l.cls === "background");
        const waiting = snap.waiters.length;
        if (waiting > 0) {
          const held = new Map<string, number>();
          const demand = new Map<string, number>();
          for (const l of background) held.set(l.tenant, (held.get(l.tenant) ?? 0) + l.weight);
          for (const [t, n] of held) demand.set(t, n);
          for (const w of snap.waiters) demand.set(w.tenant, (demand.get(w.tenant) ?? 0) + 1);
          if (process.env.BENCH_DEBUG && samples.length % 10 === 0)
            console.error(
              JSON.stringify({
                running: (await quotaStats()).running,
                leases: snap.leases.length,
                held: Object.fromEntries([...held].map(([t, n]) => [t.slice(0, 6), n])),
                waiting: Object.fromEntries([...demand].map(([t, d]) => [t.slice(0, 6), d - (held.get(t) ?? 0)])),
              }),
            );
          samples.push({
            running: (await quotaStats()).running,
            held,
            shares: fairShares(BUDGET.minimax.concurrency - BUDGET.minimax.interactive, demand),
          });
        }
        await sleep(200);
      }
    })();

    // The listener under load, and the tenants' next jobs as theirs end.
    const loaded: number[] = [];
    let view = { state: "running", counts: {} as Record<string, number> };
    let round = 1;
    let viewedAt = 0;
    while (view.state === "running") {
      loaded.push(await firstByte(loaded.length));
      await sleep(500);
      const done = await Promise.all(
        tenantJobs.slice(-2).map(async (id) => (await host.platform.jobs().jobs.get(id))?.state),
      );
      if (done.every((s) => s === "done" || s === "failed") && (view.counts.queued ?? items) > 200) {
        await Promise.all([submitTenant(KEYS.a, round), submitTenant(KEYS.b, round)]);
        round++;
      }
      // The batch's view lists its markers (10,000 at most): asked every 5 s, not every turn, to load the stack less.
      if (performance.now() - viewedAt > 5000) {
        viewedAt = performance.now();
        view = (await (
          await fetch(`${host.url}/v1/batches/bench-budget`, { headers: { authorization: `Bearer ${KEYS.a}` } })
        ).json()) as typeof view;
      }
    }
    const wallS = (performance.now() - t0) / 1000;
    // How busy this process (every job function) was: one event loop, one core at most.
    const busy = performance.eventLoopUtilization(elu0).utilization;
    const cloud1 = await cloudStats();
    const cloudBusy = (cloud1.cpuMs - cloud0.cpuMs) / 1000 / wallS;
    const ossPerSecond = (cloud1.ossRequests - cloud0.ossRequests) / wallS;
    if (process.env.BENCH_DEBUG) console.error(JSON.stringify(cloud1.ossByKind));
    sampling = false;
    await sampler;
    const jobs = await Promise.all(tenantJobs.map((id) => host.platform.jobs().jobs.get(id)));
    const failedJobs = jobs.filter((j) => j?.state === "failed").length;
    const refused = (await quotaStats()).refused;
    const throttled = refused + failedJobs + (view.counts.failed ?? 0) + streamErrors.length;
    rows.push({
      name: `budget: throttling errors reaching callers (${items.toLocaleString("en")}-item batch, ${tenantJobs.length} tenant jobs, ${idle.length + loaded.length} streams; quota refusals ${refused}, failed jobs ${failedJobs}, failed items ${view.counts.failed ?? 0}, streams not 200 ${streamErrors.length}) in ${wallS.toFixed(0)} s`,
      value: String(throttled),
      reference: "0",
      ratio: throttled === 0 ? "ok" : "FAIL",
    });
    const ratio = p95(loaded) / p95(idle);
    rows.push({
      name: `budget: interactive first byte p95 under load (${loaded.length} requests) against idle (${idle.length}) (bounded by: the emulators', the job functions' and the stream function's processes sharing 2 cores)`,
      value: `${p95(loaded).toFixed(0)} ms`,
      reference: `${p95(idle).toFixed(0)} ms idle; target ≤ 1.1×`,
      ratio: ratio.toFixed(2),
    });
    const used = samples.reduce((a, s) => a + s.running, 0) / Math.max(1, samples.length) / QUOTA.concurrency;
    rows.push({
      name: `budget: quota use while work waits (${samples.length} samples of MiniMax's ${QUOTA.concurrency} tasks, ${BUDGET.minimax.interactive} kept for streams; bounded by: the job functions' event loop, ${(busy * 100).toFixed(0)}% busy, beside the emulators' process, ${(cloudBusy * 100).toFixed(0)}% of a core for ${ossPerSecond.toFixed(0)} OSS requests a second, on 2 cores)`,
      value: `${(used * 100).toFixed(1)}%`,
      reference: "target ≥ 95%",
      ratio: used.toFixed(3),
    });
    const tenants = [OPERATOR, ownerOfKey(KEYS.a), ownerOfKey(KEYS.b)];
    const x = tenants.map((t) => {
      const held = samples.reduce((a, s) => a + (s.held.get(t) ?? 0), 0);
      const share = samples.reduce((a, s) => a + (s.shares.get(t) ?? 0), 0);
      return share === 0 ? 1 : held / share;
    });
    const index = jain(x);
    rows.push({
      name: `budget: Jain's fairness index across 3 tenants (tasks held ÷ max-min fair share: ${x.map((v) => v.toFixed(2)).join(", ")})`,
      value: index.toFixed(3),
      reference: "target ≥ 0.9",
      ratio: index.toFixed(3),
    });
    // Quotes: a 1 MB text, timed over the HTTP API (its body limit is 1 MB, so a shade under).
    const big = "这是一个用来报价的句子，长度适中。".repeat(Math.floor((1024 * 1024 - 2048) / 51));
    // The median of three, the stack idle again: with this bench's 100-character parts (every part validated by its
    // provider's rules), and on a host with the deployment's own part size.
    const quoteHost = await startFunctionHost({
      env: { ...cloudEnv, TTS_API_KEYS: KEYS.a },
      log: createLogger({ level: "error" }),
    });
    try {
      for (const [where, url] of [
        ["100-character parts", host.url],
        ["the default part size", quoteHost.url],
      ] as const) {
        const times: number[] = [];
        let quote = { characters: 0, tasks: 0 };
        for (let i = 0; i < 3; i++) {
          const q0 = performance.now();
          const res = await fetch(`${url}/v1/quotes`, {
            method: "POST",
            headers: { authorization: `Bearer ${KEYS.a}`, "content-type": "application/json" },
            body: JSON.stringify({ provider: "minimax", voice: VOICE, text: big.slice(0, 300_000), subtitles: [] }),
          });
          quote = (await res.json()) as { characters: number; tasks: number };
          times.push(performance.now() - q0);
        }
        const quoteMs = [...times].sort((x, y) => x - y)[1]!;
        const mb = Buffer.byteLength(big.slice(0, 300_000)) / (1024 * 1024);
        rows.push({
          name: `quotes: POST /v1/quotes of ${(mb * 1024).toFixed(0)} KB of text, ${where} (${quote.characters} characters, ${quote.tasks} tasks; the median of 3)`,
          value: `${(quoteMs / mb).toFixed(0)} ms/MB`,
          reference: "target ≤ 200 ms/MB",
          ratio: (quoteMs / mb / 200).toFixed(2),
        });
      }
    } finally {
      await quoteHost.stop();
    }
  } finally {
    stream.child.kill();
    await host.stop();
    emulators.child.kill();
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printTable } = await import("./table.js");
  printTable(await benchBudget());
}
