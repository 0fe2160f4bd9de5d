import { createHash } from "node:crypto";
import type OSS from "ali-oss";
import { describe, expect, it } from "vitest";
import { readLabel } from "../../lib/audio/label-container.js";
import { mp3Frames } from "../../lib/audio/mp3.js";
import { callbackUrl, legacyCallbackUrl, signJobId } from "../../lib/jobs/callback-signature.js";
import { useFunctionHost } from "../helpers/function-host.js";
import { writesTo as countWrites, jobFor as findJob, ownOutput, settle as settleAll } from "../helpers/jobs.js";
import { useLocalCloud, userOss } from "../helpers/local-cloud.js";

const AUTH_KEY = "IceKey2026abc";
const SECRET = "c".repeat(40);
const KEY = "ice-test-key";
const cloud = useLocalCloud({ ice: { authKey: AUTH_KEY, createdMs: 10 } });
const host = useFunctionHost(cloud, {
  TTS_API_KEYS: KEY,
  CALLBACK_SECRET: SECRET,
  RECONCILE_STALE_SECONDS: "0",
  JOBS_DEFAULT_PROVIDER: "ice",
});
const settle = () => settleAll(host, cloud());
const jobFor = (key: string) => findJob(host, key);
const writesTo = (key: string) => countWrites(cloud(), key);

function oss(): OSS {
  return userOss(cloud());
}

/** What ICE would send, signed for `timestamp`: to the path-signed URL we gave it, or (`legacy`) to the earlier `?sig=` form. */
function iceCallback(jobId: string, timestamp: number, opts: { sig?: string; legacy?: boolean } = {}) {
  const base = `http://localhost:${host.port}`;
  const url = opts.legacy ? legacyCallbackUrl(base, SECRET, jobId, "ice") : callbackUrl(base, SECRET, jobId, "ice");
  const signature = createHash("md5").update(`${url}|${timestamp}|${AUTH_KEY}`).digest("hex");
  const sig = opts.sig ?? signJobId(SECRET, jobId);
  return fetch(
    opts.legacy ? `${host.url}/callbacks/ice/${jobId}?sig=${sig}` : `${host.url}/callbacks/ice/${jobId}/${sig}`,
    {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-ice-timestamp": String(timestamp),
        "x-ice-signature": signature,
      },
      body: JSON.stringify({
        EventType: "AIGCAudioProduceComplete",
        UserId: 1,
        EventTime: new Date().toISOString(),
        MessageBody: { JobId: "x", Status: "Success" },
      }),
    },
  );
}

describe("ICE jobs on the local stack", () => {
  it("turns an upload into ICE's audio in OSS plus .srt and .vtt from AiResult, and marks the job done", async () => {
    const srt = writesTo("output/ice/ch1.srt");
    try {
      await oss().put("input/ice/ch1.txt", Buffer.from("冰的第一章。ICE writes this audio."), {
        meta: { voice: "siqi" } as unknown as OSS.UserMeta,
      });
      await settle();
      const job = await jobFor("input/ice/ch1.txt");
      expect(job).toMatchObject({ provider: "ice", state: "done", output: { audioKey: "output/ice/ch1.mp3" } });
      const audio = (await oss().get("output/ice/ch1.mp3")).content as Buffer;
      expect(mp3Frames(audio).length).toBeGreaterThan(10);
      // ICE wrote the audio itself; store labelled it in place, once.
      expect(readLabel(audio)).toMatchObject({
        aigc: { Label: "1", ProduceID: job.id },
        synthesis: { provider: "ice" },
      });
      expect((await oss().get("output/ice/ch1.srt")).content.toString()).toMatch(
        /^1\n00:00:00,[0-2]\d\d --> .*\n冰的第一章。\n/,
      );
      expect((await oss().get("output/ice/ch1.vtt")).content.toString()).toMatch(/^WEBVTT\n/);
      expect(srt.count()).toBe(1);
    } finally {
      srt.stop();
    }
  });

  it("writes the subtitles once and marks one done when ICE's callback arrives 20 times", async () => {
    cloud().ice.faults.duplicateCallbacks = 19;
    const srt = writesTo("output/ice/dup.srt");
    try {
      await oss().put("input/ice/dup.txt", Buffer.from("重复的回调。"), {
        meta: { voice: "siqi" } as unknown as OSS.UserMeta,
      });
      await settle();
      expect((await jobFor("input/ice/dup.txt")).state).toBe("done");
      expect(srt.count()).toBe(1);
    } finally {
      cloud().ice.faults.duplicateCallbacks = 0;
      srt.stop();
    }
  });

  it("finishes through reconcile when ICE's callback is lost", async () => {
    cloud().ice.faults.dropCallbacks = 1;
    await oss().put("input/ice/lost.txt", Buffer.from("回调丢了。"));
    await settle();
    expect((await jobFor("input/ice/lost.txt")).state).toBe("submitted");
    await host.trigger("reconcile");
    await settle();
    expect((await jobFor("input/ice/lost.txt")).state).toBe("done");
  });

  it("refuses forged, wrongly signed and stale ICE callbacks with 401, changing nothing", async () => {
    cloud().ice.faults.dropCallbacks = 1;
    await oss().put("input/ice/forged.txt", Buffer.from("伪造。"));
    await settle();
    const before = await jobFor("input/ice/forged.txt");
    const now = Math.floor(Date.now() / 1000);
    expect((await iceCallback(before.id, now, { sig: "not-our-hmac" })).status).toBe(401);
    expect((await iceCallback(before.id, now, { sig: "not-our-hmac", legacy: true })).status).toBe(401);
    expect((await iceCallback(before.id, now - 600)).status).toBe(401);
    const wrongSignature = await fetch(`${host.url}/callbacks/ice/${before.id}/${signJobId(SECRET, before.id)}`, {
      method: "POST",
      headers: { "x-ice-timestamp": String(now), "x-ice-signature": "0".repeat(32) },
    });
    expect(wrongSignature.status).toBe(401);
    await settle();
    expect(await jobFor("input/ice/forged.txt")).toEqual(before);
    // The genuine article, for contrast: a fresh, correctly signed callback drives the job to done.
    expect((await iceCallback(before.id, now)).status).toBe(200);
    await settle();
    expect((await jobFor("input/ice/forged.txt")).state).toBe("done");
  });

  it("accepts a callback to the earlier ?sig= URL, for jobs submitted before the signature moved into the path", async () => {
    cloud().ice.faults.dropCallbacks = 1;
    await oss().put("input/ice/legacy.txt", Buffer.from("旧的回调地址。"));
    await settle();
    const before = await jobFor("input/ice/legacy.txt");
    expect(before.state).toBe("submitted");
    expect((await iceCallback(before.id, Math.floor(Date.now() / 1000), { legacy: true })).status).toBe(200);
    await settle();
    expect((await jobFor("input/ice/legacy.txt")).state).toBe("done");
  });

  it("gives providers a callback URL with no query string: the signature is in the path", () => {
    const url = new URL(callbackUrl("https://cb.example.com", SECRET, "job-1", "ice"));
    expect(url.search).toBe("");
    expect(url.pathname).toBe(`/callbacks/ice/job-1/${signJobId(SECRET, "job-1")}`);
  });

  it("fails the job with ICE's error code and message when ICE fails it", async () => {
    cloud().ice.faults.failNext.push({
      code: "InvalidParameter.Voice",
      message: "The voice is not authorized for this account.",
    });
    await oss().put("input/ice/fails.txt", Buffer.from("会失败。"));
    await settle();
    expect((await jobFor("input/ice/fails.txt")).failure).toMatchObject({
      code: "InvalidParameter.Voice",
      reason: "The voice is not authorized for this account.",
    });
  });

  it("refuses NLS-only misuse of ICE options, naming the field, and accepts a cloned voice on ICE", async () => {
    // (Text over ICE's 10,000 characters is split into parts: test/e2e/long-jobs.test.ts.)
    const post = (body: unknown) =>
      fetch(`${host.url}/v1/jobs`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect(await (await post({ provider: "nls", text: "hi", customizedVoice: "clone-1" })).json()).toMatchObject({
      error: { field: "customizedVoice" },
    });
    expect(await (await post({ provider: "nls", text: "hi", overwrite: false })).json()).toMatchObject({
      error: { field: "overwrite" },
    });
    const cloned = await post({
      provider: "ice",
      text: "克隆的声音。",
      customizedVoice: "clone-1",
      output: { key: ownOutput(KEY, "ice/cloned.mp3") },
    });
    expect(cloned.status).toBe(202);
    await settle();
  });
});
