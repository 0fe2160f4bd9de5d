import { describe, expect, it } from "vitest";
import { sYamlVariables } from "../../infra/deploy/s-yaml.js";
import { localEnvironment } from "../../infra/local/local-env.js";

describe("npm start's environment", () => {
  it("passes on what s.yaml reads from the shell, keeps the local cloud's endpoints over it, and says which", () => {
    const names = sYamlVariables();
    expect(names).toEqual(expect.arrayContaining(["WEBHOOK_ALLOW_PRIVATE", "STREAM_MAX_CHARS", "OSS_BUCKET"]));
    const local = localEnvironment(
      { WEBHOOK_ALLOW_PRIVATE: "true", LOG_LEVEL: "", OSS_BUCKET: "real", REGION: "cn-shanghai", HOME: "/root" },
      { OSS_BUCKET: "tts-local", REGION: "cn-shanghai", OSS_ENDPOINT: "http://127.0.0.1:1" },
      names,
    );
    expect(local.env).toEqual({
      WEBHOOK_ALLOW_PRIVATE: "true",
      OSS_BUCKET: "tts-local",
      REGION: "cn-shanghai",
      OSS_ENDPOINT: "http://127.0.0.1:1",
    });
    expect(local.taken).toEqual(["WEBHOOK_ALLOW_PRIVATE"]);
    // The same value as the cloud's is no conflict; an empty one is unset, as `${env('X', '')}` means.
    expect(local.overridden).toEqual(["OSS_BUCKET"]);
  });
});
