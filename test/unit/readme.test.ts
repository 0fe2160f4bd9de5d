import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ConfigSchema } from "../../lib/config.js";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

describe("README", () => {
  it("documents every configuration variable the schema reads", () => {
    for (const name of Object.keys(ConfigSchema.shape)) expect(readme, name).toContain(`| \`${name}\` |`);
  });

  it("names only npm scripts that exist", () => {
    const scripts = Object.keys(
      (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { scripts: object }).scripts,
    );
    const named = [...readme.matchAll(/npm run (?:-s )?([\w:-]+)/g)].map((m) => m[1]!);
    expect(named.length).toBeGreaterThan(5);
    for (const name of new Set(named)) expect(scripts, `npm run ${name}`).toContain(name);
  });

  it("gives the test command CI runs", () => {
    expect(readFileSync(new URL("../../.ci/run", import.meta.url), "utf8")).toMatch(/npm ci[\s\S]*npm test/);
    expect(readme).toMatch(/npm test/);
  });
});
