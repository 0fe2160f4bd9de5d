/**
 * Reads s.yaml as `s preview` renders it: `${env('X', 'default')}`, `${vars.a.b}` and `${config('AccountID')}`
 * resolved. The local host and the wiring test read the same file, so local wiring is cloud wiring.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

export const S_YAML = fileURLToPath(new URL("../../s.yaml", import.meta.url));

const ENV_REFERENCE = /\$\{env\('([A-Za-z0-9_]+)'(?:,\s*'([^']*)')?\)\}/g;

/** The environment variables s.yaml reads (`${env('X')}`), in the order they first appear. */
export function sYamlVariables(file = S_YAML): string[] {
  return [...new Set([...readFileSync(file, "utf8").matchAll(ENV_REFERENCE)].map((m) => m[1]!))];
}

function resolve(value: unknown, env: Record<string, string | undefined>, vars: Record<string, unknown>): unknown {
  if (typeof value === "string") {
    return value
      .replace(ENV_REFERENCE, (_m, name: string, fallback?: string) => env[name] ?? fallback ?? "")
      .replace(/\$\{config\('([A-Za-z]+)'\)\}/g, (_m, name: string) =>
        name === "AccountID" ? (env.ALIBABA_CLOUD_ACCOUNT_ID ?? "0") : "0",
      )
      .replace(/\$\{vars\.([\w.]+)\}/g, (_m, path: string) =>
        String(path.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], vars) ?? ""),
      );
  }
  if (Array.isArray(value)) return value.map((v) => resolve(v, env, vars));
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, env, vars)]));
  return value;
}

/** The whole document, resolved. */
export function readSYaml(
  env: Record<string, string | undefined> = {},
  file = S_YAML,
): {
  edition?: string;
  name?: string;
  vars: Record<string, unknown>;
  resources: Record<string, { component: string; props: Record<string, unknown> }>;
} {
  const raw = parse(readFileSync(file, "utf8")) as { vars?: Record<string, unknown> };
  const vars = resolve(raw.vars ?? {}, env, {}) as Record<string, unknown>;
  return resolve(raw, env, vars) as ReturnType<typeof readSYaml>;
}

/** The fc3 resources' props, by resource name. */
export function readResources(
  env: Record<string, string | undefined> = {},
  file = S_YAML,
): Record<string, Record<string, unknown>> {
  const doc = readSYaml(env, file);
  return Object.fromEntries(
    Object.entries(doc.resources ?? {})
      .filter(([, r]) => r.component === "fc3")
      .map(([name, r]) => [name, r.props]),
  );
}
