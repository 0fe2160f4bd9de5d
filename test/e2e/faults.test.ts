import OSS from "ali-oss";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { type FunctionHost, startFunctionHost } from "../../infra/local/host.js";
import { createLogger } from "../../lib/log.js";
import { jobFor as findJob, settle as settleAll, writesTo } from "../helpers/jobs.js";
import { useLocalCloud } from "../helpers/local-cloud.js";

const cloud = useLocalCloud({ engine: new FastEngine(), longText: { queueMs: 5, runMs: 5 } });
let host: FunctionHost;
const settle = () => settleAll(host, cloud());

beforeAll(async () => {
  host = await startFunctionHost({ env: { ...cloud().env(), TTS_API_KEYS: "faults-key", RECONCILE_STALE_SECONDS: "0" }, log: createLogger({ level: "error" }), cloud: cloud() });
});
afterAll(async () => host?.stop());

const oss = () => new OSS({ bucket: cloud().bucket, region: `oss-${cloud().region}`, accessKeyId: cloud().accessKey.accessKeyId, accessKeySecret: cloud().accessKey.accessKeySecret, endpoint: cloud().urls.oss, sldEnable: true, secure: false } as OSS.Options);

describe("faults", () => {
  it("finishes a job with one output object when job-record writes fail for a while (FC's async retries, then reconcile)", async () => {
    // Job-record writes fail three times in a row (one whole retried put): whichever step hits it, the retries converge.
    cloud().oss.faults.failNext("PutObject", { status: 503, code: "ServiceUnavailable", times: 3, key: (k) => k.startsWith("jobs/records/") && !k.includes("00000000") });
    const audio = writesTo(cloud(), "output/crash.mp3");
    try {
      await oss().put("input/crash.txt", Buffer.from("存储在标记完成之前崩溃。"));
      await settle();
      await host.trigger("reconcile");
      await settle();
      const job = await findJob(host, "input/crash.txt");
      expect(job.state).toBe("done");
      const listed = (await host.platform.clients.storage.list("output/crash")).objects.map((o) => o.key);
      expect(listed).toEqual(["output/crash.mp3"]);
      expect(audio.count()).toBeGreaterThanOrEqual(1);
    } finally {
      audio.stop();
      cloud().oss.faults.clear();
    }
  });

  it("ignores a callback arriving after reconcile already finished the job", async () => {
    cloud().nls.longText.faults.delayCallbackMs = 300;
    try {
      await oss().put("input/late.txt", Buffer.from("回调来得太晚。"));
      // reconcile polls and finishes the job before the delayed callback lands
      await new Promise((r) => setTimeout(r, 100));
      await host.trigger("reconcile");
      await host.idle();
      expect((await findJob(host, "input/late.txt")).state).toBe("done");
      const done = await findJob(host, "input/late.txt");
      await settle();
      expect(await findJob(host, "input/late.txt")).toEqual(done);
    } finally {
      cloud().nls.longText.faults.delayCallbackMs = 0;
    }
  });
});
