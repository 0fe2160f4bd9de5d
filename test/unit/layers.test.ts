/**
 * lib/'s layers, checked from its imports: no folder of lib imports from one that imports it back (so each has a
 * place in one order, from text and net at the bottom to fc at the top), lib imports nothing from the functions, the
 * local cloud or the tests, and errors.ts knows no provider.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = new URL("../..", import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** lib/jobs/x.ts → "jobs"; lib/errors.ts → "errors.ts" (each root file is its own unit). */
const unitOf = (file: string): string => {
  const parts = file.split("/");
  return parts[1]!;
};

const imports = (file: string): string[] =>
  [...readFileSync(join(ROOT, file), "utf8").matchAll(/from "(\.[^"]+)"/g)].map((m) =>
    relative(ROOT, normalize(join(ROOT, dirname(file), m[1]!))).replace(/\.js$/, ".ts"),
  );

describe("lib's layers", () => {
  const lib = files("lib");

  it("has no import cycle between its folders", () => {
    const edges = new Map<string, Set<string>>();
    for (const file of lib)
      for (const target of imports(file).filter((t) => t.startsWith("lib/"))) {
        const [a, b] = [unitOf(file), unitOf(target)];
        if (a !== b) edges.set(a, (edges.get(a) ?? new Set()).add(b));
      }
    expect(edges.size).toBeGreaterThan(10);
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const visit = (unit: string, path: string[]): void => {
      state.set(unit, "open");
      for (const next of edges.get(unit) ?? []) {
        if (state.get(next) === "open") cycles.push([...path, unit, next].slice(path.indexOf(next)).join(" → "));
        else if (!state.has(next)) visit(next, [...path, unit]);
      }
      state.set(unit, "done");
    };
    for (const unit of edges.keys()) if (!state.has(unit)) visit(unit, []);
    expect(cycles).toEqual([]);
  });

  it("imports nothing from the functions, the local cloud, the scripts or the tests", () => {
    const outside = lib.flatMap((file) =>
      imports(file)
        .filter((t) => /^(functions|infra|scripts|test|bench)\//.test(t))
        .map((t) => `${file} → ${t}`),
    );
    expect(outside).toEqual([]);
  });

  it("keeps errors.ts free of any provider", () => {
    expect(imports("lib/errors.ts").filter((t) => t.includes("providers/") || t.includes("jobs/"))).toEqual([]);
  });
});
