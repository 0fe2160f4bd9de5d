/**
 * Elections that nobody owns. Each once-only step (the hand-off of a split job to `store`, a task's requeue after a
 * transient failure) is elected with a create-if-absent marker. Two ways it used to be lost for good:
 * - the marker's PUT succeeded but its answer was lost; the client's retry met 409, and the real winner was told it
 *   lost (the marker now holds the caller's token, so the winner recognises its own marker);
 * - the elected caller crashed after writing the marker (now `reconcile`, past the grace period, re-drives the step).
 */
import { describe, expect, it } from "vitest";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import type { Job } from "../../lib/jobs/schema.js";
import { useFunctionHost } from "../helpers/function-host.js";
import { settle as settleAll, submitJob } from "../helpers/jobs.js";
import { useLocalCloud } from "../helpers/local-cloud.js";

const cloud = useLocalCloud({ engine: new FastEngine(), longText: { queueMs: 5, runMs: 5 } });
const KEY = "elections-key";
const host = useFunctionHost(cloud, { TTS_API_KEYS: KEY, RECONCILE_STALE_SECONDS: "0" });
const settle = () => settleAll(host, cloud());

const job = async (id: string): Promise<Job> => (await host.platform.jobs().jobs.get(id))!;
const post = (body: unknown): Promise<string> => submitJob(host, KEY, body);
/** Over ICE's 10,000-character limit: a job split into two parts. */
const book = (tag: string) => ({
  provider: "ice",
  format: "mp3",
  text: Array.from({ length: 2000 }, (_, i) => `第${i}句${tag}。`).join(""),
});

describe("elections", () => {
  it("a split job whose assemble election lost its answer is still assembled, without reconcile", async () => {
    cloud().oss.faults.loseAnswerNext("PutObject", { key: (k) => k.endsWith("/assemble") });
    const id = await post(book("甲"));
    await settle();
    const parent = await job(id);
    expect(parent.parts).toHaveLength(2);
    expect(parent.state).toBe("done");
  });

  it("a split job whose elected assembler crashed after its election is finished by reconcile", async () => {
    // The marker appears while the parts run (as the parent's text is written), as if the assembler had won and died
    // before handing off to store.
    let planted: Promise<unknown> | undefined;
    const plant = (e: { op: string; key: string; status: number }): void => {
      const parent = /^jobs\/texts\/(.+)\.txt$/.exec(e.key)?.[1];
      if (e.op !== "PutObject" || !parent || planted) return;
      cloud().oss.observers.delete(plant);
      planted = host.platform.clients.storage.put(
        `jobs/elect/${parent}/assemble`,
        "2000-01-01T00:00:00.000Z crashed-elector",
        { contentType: "text/plain" },
      );
    };
    cloud().oss.observers.add(plant);
    const id = await post(book("乙"));
    await planted;
    await settle();
    const stuck = await job(id);
    expect(stuck.state).toBe("submitted");
    const parts = await Promise.all(stuck.parts!.map((p) => job(p.jobId)));
    expect(parts.map((p) => p.state)).toEqual(["done", "done"]);
    await host.trigger("reconcile");
    await settle();
    expect((await job(id)).state).toBe("done");
  });

  it("a task whose requeue election lost its answer is resubmitted at once", async () => {
    cloud().nls.longText.faults.failNext.push({ code: 51020001, message: "TTS:TtsServerError" });
    cloud().oss.faults.loseAnswerNext("PutObject", { key: (k) => k.endsWith("/retry-1") });
    const id = await post({ text: "重排的选举丢了回答。", voice: "siqi" });
    await settle();
    expect([(await job(id)).state, (await job(id)).retries]).toEqual(["done", 1]);
  });

  it("a task whose elected requeuer crashed is requeued by reconcile", async () => {
    cloud().nls.longText.faults.failNext.push({ code: 51020001, message: "TTS:TtsServerError" });
    // The moment the requeue is elected, the requeuer's record write fails for good (all three of its tries): it dies
    // holding the election, and every later caller finds the marker taken.
    let id = "";
    const arm = (e: { op: string; key: string; status: number }): void => {
      if (e.op !== "PutObject" || !e.key.endsWith("/retry-1") || e.status !== 200) return;
      cloud().oss.observers.delete(arm);
      id = e.key.split("/")[2]!;
      cloud().oss.faults.failNext("PutObject", { key: (k) => k.startsWith("jobs/records/"), times: 3 });
    };
    cloud().oss.observers.add(arm);
    // Whoever saw the failure first (the POST's own look, or the callback) is the one that dies: either way is a crash.
    await fetch(`${host.url}/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ text: "重排的人崩溃了。", voice: "siqi" }),
    });
    await settle();
    expect(id).not.toBe("");
    expect((await job(id)).state).toBe("submitted");
    await host.trigger("reconcile");
    await settle();
    expect([(await job(id)).state, (await job(id)).retries]).toEqual(["done", 1]);
  });
});
