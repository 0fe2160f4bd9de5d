/**
 * Structured JSON logs, one line per entry, with the request and job ids carried by child loggers.
 * Secrets never reach the output: keys that name a secret are redacted whatever their depth, and Error objects are
 * reduced to name, code and message.
 */
import { scrubSecrets } from "./secrets.js";

export type LogLevel = "debug" | "info" | "warn" | "error";
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEY = /secret|token|password|authorization|signature|accesskey|api[-_]?key|credential/i;

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export function createLogger(
  opts: { level?: LogLevel; base?: Record<string, unknown>; write?: (line: string) => void; now?: () => Date } = {},
): Logger {
  const min = ORDER[opts.level ?? "info"];
  const write = opts.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const base = opts.base ?? {};
  const log =
    (level: LogLevel) =>
    (msg: string, fields: Record<string, unknown> = {}) => {
      if (ORDER[level] < min) return;
      write(
        JSON.stringify({
          time: (opts.now?.() ?? new Date()).toISOString(),
          level,
          msg,
          ...redact(base),
          ...redact(fields),
        }),
      );
    };
  return {
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
    child: (fields) => createLogger({ ...opts, base: { ...base, ...fields } }),
  };
}

export function redact(value: Record<string, unknown>, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = SECRET_KEY.test(key) ? "[redacted]" : clean(v, depth);
  return out;
}

function clean(v: unknown, depth: number): unknown {
  if (v instanceof Error) {
    const e = v as Error & { code?: unknown; providerCode?: unknown };
    return {
      name: e.name,
      message: scrubSecrets(e.message),
      ...(e.code !== undefined ? { code: e.code } : {}),
      ...(e.providerCode !== undefined ? { providerCode: e.providerCode } : {}),
    };
  }
  if (typeof v === "string") return scrubSecrets(v);
  if (depth > 4 || v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map((x) => clean(x, depth + 1));
  return redact(v as Record<string, unknown>, depth + 1);
}
