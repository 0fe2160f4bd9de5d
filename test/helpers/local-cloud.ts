import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OSS from "ali-oss";
import { afterAll, beforeAll } from "vitest";
import { type LocalCloud, type LocalCloudOptions, startLocalCloud } from "../../infra/local/cloud.js";
import { OssStorage } from "../../lib/storage/oss.js";

/** Starts a local cloud on ephemeral ports in a temp dir for the enclosing test file, and stops it afterwards. */
export function useLocalCloud(options: Omit<LocalCloudOptions, "dataDir"> = {}): () => LocalCloud {
  let cloud: LocalCloud | undefined;
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "local-cloud-"));
    cloud = await startLocalCloud({ ...options, dataDir: dir });
  });
  afterAll(async () => {
    await cloud?.stop();
    await rm(dir, { recursive: true, force: true });
  });
  return () => {
    if (!cloud) throw new Error("local cloud not started");
    return cloud;
  };
}

/** Waits until `check` holds, polling; fails after `ms`. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 2000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A user's own ali-oss client on the local cloud's bucket, with the README's settings (path-style via `sldEnable`). */
export function userOss(c: LocalCloud, options: Partial<OSS.Options> = {}): OSS {
  return new OSS({
    bucket: c.bucket,
    region: `oss-${c.region}`,
    accessKeyId: c.accessKey.accessKeyId,
    accessKeySecret: c.accessKey.accessKeySecret,
    endpoint: c.urls.oss,
    sldEnable: true,
    secure: false,
    // A bucket made since 2025-09-01 accepts V4 signatures only.
    authorizationV4: true,
    ...options,
  } as OSS.Options);
}

/** The bucket as its owner sees it (the user's own AccessKey, no role to limit it): for tests that look at everything. */
export function ownerStorage(
  c: LocalCloud,
  backoff?: ConstructorParameters<typeof OssStorage>[0]["backoff"],
): OssStorage {
  return new OssStorage({
    backoff,
    config: {
      bucket: c.bucket,
      region: `oss-${c.region}`,
      accessKeyId: c.accessKey.accessKeyId,
      accessKeySecret: c.accessKey.accessKeySecret,
      endpoint: c.urls.oss,
      pathStyle: true,
    },
  });
}
