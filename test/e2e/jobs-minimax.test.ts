import { describe, expect, it } from "vitest";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { mp3DurationMs } from "../../lib/audio/mp3.js";
import { useFunctionHost } from "../helpers/function-host.js";
import { ownOutput, settle as settleAll } from "../helpers/jobs.js";
import { useLocalCloud } from "../helpers/local-cloud.js";

const cloud = useLocalCloud({ engine: new FastEngine() });
const KEY = "minimax-jobs-key";
const host = useFunctionHost(cloud, { TTS_API_KEYS: KEY });
const settle = () => settleAll(host, cloud());

async function post(body: unknown): Promise<{ id: string; status: number }> {
  const res = await fetch(`${host.url}/v1/jobs`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { ...((await res.json()) as { id: string }), status: res.status };
}

describe("MiniMax as a job provider", () => {
  it("answers 202 at once, synthesizes through FC's queue, and stores the audio from MiniMax's URL", async () => {
    const { id, status } = await post({
      provider: "minimax",
      voice: "male-qn-qingse",
      text: "MiniMax 的长文本任务。",
      format: "mp3",
      sampleRate: 16000,
      output: { key: ownOutput(KEY, "minimax/a.mp3") },
    });
    expect(status).toBe(202);
    await settle();
    const job = (await host.platform.jobs().jobs.get(id))!;
    expect(job).toMatchObject({ provider: "minimax", state: "done" });
    expect(mp3DurationMs((await host.platform.clients.storage.get(ownOutput(KEY, "minimax/a.mp3")))!)).toBeGreaterThan(
      500,
    );
  });

  it("splits text beyond MiniMax's 10,000 characters into parts and stitches them", async () => {
    const text = Array.from({ length: 2_500 }, (_, i) => `第${i}句。`).join("");
    const { id } = await post({ provider: "minimax", voice: "male-qn-qingse", text, format: "mp3", sampleRate: 16000 });
    await settle();
    const job = (await host.platform.jobs().jobs.get(id))!;
    expect(job.state).toBe("done");
    expect(job.parts!.length).toBeGreaterThanOrEqual(2);
  });

  it("refuses SSML and ICE-only options for MiniMax, naming the field", async () => {
    expect(await post({ provider: "minimax", voice: "v", ssml: "<speak>x</speak>" })).toMatchObject({
      status: 400,
      error: { field: "ssml" },
    });
    expect(await post({ provider: "minimax", voice: "v", text: "x", overwrite: true })).toMatchObject({
      status: 400,
      error: { field: "overwrite" },
    });
  });
});
