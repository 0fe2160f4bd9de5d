import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PLAYGROUND_HTML } from "../../functions/stream/playground.js";
import { playgroundModule } from "../../scripts/gen-playground.js";

describe("the playground page", () => {
  it("is built from its linted, type-checked sources (run npm run gen:playground after editing them)", () => {
    const built = readFileSync(new URL("../../functions/stream/playground.ts", import.meta.url), "utf8");
    expect(built).toBe(playgroundModule());
  });

  it("inlines its style and script into one page, placeholders gone", () => {
    expect(PLAYGROUND_HTML).toMatch(/^<!doctype html>/);
    expect(PLAYGROUND_HTML).toContain("[hidden] {");
    expect(PLAYGROUND_HTML).toContain("const $ = (id) =>");
    expect(PLAYGROUND_HTML).not.toContain("/* style.css */");
    expect(PLAYGROUND_HTML).not.toContain("// client.js\n");
    expect(PLAYGROUND_HTML).not.toContain("@ts-check");
  });
});
