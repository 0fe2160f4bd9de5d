/** A local cloud starts over a data directory a killed run left with a half-written task file (issue 26, defect 12). */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { startLocalCloud } from "../../infra/local/cloud.js";

it("starts, skipping an empty task file, and keeps serving the tasks that were whole", async () => {
  const dir = await mkdtemp(join(tmpdir(), "nls-restore-"));
  try {
    await mkdir(join(dir, "nls-tasks"), { recursive: true });
    await writeFile(join(dir, "nls-tasks", "cut-short.json"), "");
    await writeFile(join(dir, "nls-tasks", "half.json"), '{"id":"half","state":"SUCC');
    const cloud = await startLocalCloud({ dataDir: dir, engine: new FastEngine() });
    try {
      expect(cloud.nls.longText).toBeDefined();
      const res = await fetch(`${cloud.env().NLS_LONG_TEXT_URL}?appkey=${cloud.appKey}&task_id=half&token=x`);
      expect(res.status).toBeGreaterThanOrEqual(400);
    } finally {
      await cloud.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
