import { describe, expect, it } from "vitest";
import { toSrt, toVtt } from "../../lib/audio/subtitles.js";
import { callbackUrl, signJobId, verifyJobId } from "../../lib/jobs/callback-signature.js";
import { checkOutputKey } from "../../lib/jobs/intake.js";
import { type Job, JobOptionsSchema, transition } from "../../lib/jobs/schema.js";
import { isAllowedAudioUrl } from "../../lib/jobs/store-audio.js";
import { outputKeyFor } from "../../lib/jobs/upload-intake.js";

const job = (state: Job["state"]): Job => ({
  id: "job-00000001",
  state,
  provider: "nls",
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z",
  idempotencyKey: "k",
  source: { kind: "inline" },
  ssml: false,
  characters: 1,
  options: JobOptionsSchema.parse({}),
  output: { audioKey: "output/a.mp3" },
});

describe("job state machine", () => {
  it("moves forward one step at a time and fails from any state before done", () => {
    const now = new Date("2026-01-02T00:00:00Z");
    expect(transition(job("queued"), "submitted", {}, now)).toMatchObject({
      state: "submitted",
      updatedAt: now.toISOString(),
    });
    expect(transition(job("queued"), "done", {}, now)).toBeUndefined();
    expect(transition(job("synthesized"), "failed", {}, now)?.state).toBe("failed");
    expect(transition(job("done"), "failed", {}, now)).toBeUndefined();
    expect(transition(job("failed"), "submitted", {}, now)).toBeUndefined();
  });

  it("asks for subtitles by default only where the voice has timestamps", () => {
    expect(JobOptionsSchema.parse({ voice: "siqi" }).subtitles).toEqual(["srt", "vtt"]);
    expect(JobOptionsSchema.parse({ voice: "xiaoyun" }).subtitles).toEqual([]);
    expect(() => JobOptionsSchema.parse({ sampleRate: 24000 })).toThrow(/8000 or 16000/);
  });
});

describe("callback signatures", () => {
  it("accepts the job's own signature only", () => {
    const secret = "s".repeat(32);
    expect(callbackUrl("http://localhost:9000/", secret, "job-1")).toBe(
      `http://localhost:9000/callbacks/nls/job-1/${signJobId(secret, "job-1")}`,
    );
    expect(verifyJobId(secret, "job-1", signJobId(secret, "job-1"))).toBe(true);
    expect(verifyJobId(secret, "job-2", signJobId(secret, "job-1"))).toBe(false);
    expect(verifyJobId(secret, "job-1", null)).toBe(false);
    expect(verifyJobId("t".repeat(32), "job-1", signJobId(secret, "job-1"))).toBe(false);
  });
});

describe("store's SSRF guard", () => {
  it("fetches audio only from allowed hosts over http(s), without credentials", () => {
    const hosts = ["*.aliyuncs.com", "127.0.0.1:9102"];
    expect(isAllowedAudioUrl("http://nls-cloud-cn-shanghai.oss-cn-shanghai.aliyuncs.com/a.wav", hosts)).toBe(true);
    expect(isAllowedAudioUrl("http://127.0.0.1:9102/nls-audio/x.mp3", hosts)).toBe(true);
    expect(isAllowedAudioUrl("http://127.0.0.1:9100/tts-local/jobs/records/x.json", hosts)).toBe(false);
    expect(isAllowedAudioUrl("http://169.254.100.200/latest/meta-data", hosts)).toBe(false);
    expect(isAllowedAudioUrl("http://aliyuncs.com.evil.example/a.mp3", hosts)).toBe(false);
    expect(isAllowedAudioUrl("http://user:pw@x.aliyuncs.com/a.mp3", hosts)).toBe(false);
    expect(isAllowedAudioUrl("file:///etc/passwd", hosts)).toBe(false);
  });
});

describe("output keys", () => {
  it("mirrors the input path under the output prefix with the format's extension", () => {
    expect(outputKeyFor("input/a/b.txt", "input/", "output/", "mp3")).toBe("output/a/b.mp3");
    expect(outputKeyFor("input/c.ssml", "input/", "output/", "wav")).toBe("output/c.wav");
  });

  it("refuses keys outside the output prefix or with '..'", () => {
    expect(checkOutputKey("output/x.mp3", "output/")).toBe("output/x.mp3");
    expect(() => checkOutputKey("input/x.mp3", "output/")).toThrow(/output prefix/);
    expect(() => checkOutputKey("output/../jobs/x", "output/")).toThrow(/'\.\.'/);
    expect(() => checkOutputKey("/output/x", "output/")).toThrow();
  });
});

describe("subtitles", () => {
  const cues = [
    { text: "第一句。", begin_time: 0, end_time: 1234 },
    { text: "second\nline --> arrow", begin_time: 1234, end_time: 3_723_004 },
  ];

  it("writes SRT with comma milliseconds and cue numbers", () => {
    expect(toSrt(cues)).toBe(
      "1\n00:00:00,000 --> 00:00:01,234\n第一句。\n\n2\n00:00:01,234 --> 01:02:03,004\nsecond line --> arrow\n",
    );
  });

  it("writes WebVTT with a header, dot milliseconds and no arrow inside cue text", () => {
    expect(toVtt(cues)).toBe(
      "WEBVTT\n\n00:00:00.000 --> 00:00:01.234\n第一句。\n\n00:00:01.234 --> 01:02:03.004\nsecond line -> arrow\n",
    );
  });
});
