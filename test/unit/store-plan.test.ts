import { describe, expect, it } from "vitest";
import type { Job } from "../../lib/jobs/schema.js";
import { storePlan } from "../../lib/jobs/store-audio.js";
import { jobRecord } from "../helpers/job-record.js";

const at = "2026-11-30T00:00:00.000Z";
const job = (fields: Partial<Job>): Job =>
  jobRecord(
    {
      state: "synthesized",
      task: { id: "t", submittedAt: at, audioAddress: "https://nls.cn-shanghai.aliyuncs.com/a.mp3" },
      ...fields,
    },
    at,
  );
const hosts = ["*.aliyuncs.com"];

describe("what the store step does with a job", () => {
  const cases: Array<[string, Job | undefined, "url" | "bucket", string]> = [
    ["nothing for a missing job", undefined, "url", "skip"],
    ["nothing for a finished job (a duplicate invocation)", job({ state: "done" }), "url", "skip"],
    ["nothing before synthesis", job({ state: "submitted" }), "url", "skip"],
    ["nothing while a URL provider has given no address", job({ task: { id: "t", submittedAt: at } }), "url", "skip"],
    ["copies from an allowed URL", job({}), "url", "copy"],
    ["copies again when a previous store stopped after 'stored'", job({ state: "stored" }), "url", "copy"],
    [
      "refuses a URL on another host (an SSRF guard)",
      job({ task: { id: "t", submittedAt: at, audioAddress: "http://169.254.169.254/latest" } }),
      "url",
      "refuse-url",
    ],
    [
      "verifies what a bucket provider (ICE) wrote",
      job({ provider: "ice", task: { id: "t", submittedAt: at } }),
      "bucket",
      "verify-in-bucket",
    ],
    [
      "assembles a split job once its parts are done",
      job({ parts: [{ jobId: "p", characters: 1 }], task: undefined }),
      "url",
      "assemble",
    ],
    [
      "waits for a split job's parts",
      job({ state: "submitted", parts: [{ jobId: "p", characters: 1 }], task: undefined }),
      "url",
      "skip",
    ],
  ];
  it.each(cases)("%s", (_name, j, audio, kind) => {
    expect(storePlan(j, audio, hosts).kind).toBe(kind);
  });
});
