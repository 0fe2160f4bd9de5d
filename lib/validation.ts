/** One way to turn a zod failure into an InputError that names the field (the path into the input) and the rule. */
import { InputError } from "./errors.js";
import * as z from "./zod.js";

export function parseInput<S extends z.ZodMiniType>(schema: S, value: unknown, fieldPrefix = ""): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  // A field nobody asked for is named itself (`voise`), not the object that holds it.
  const unknown = issue.code === "unrecognized_keys" ? [issue.keys[0]!] : [];
  const path = [fieldPrefix, ...issue.path.map(String), ...unknown].filter(Boolean).join(".") || "body";
  const limit = "maximum" in issue ? Number(issue.maximum) : "minimum" in issue ? Number(issue.minimum) : undefined;
  throw new InputError(path, issue.message, { limit });
}

/** A plain object (not null, not an array), to look into input before it has a schema. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** What every speech input checks: exactly one of `text` and `ssml` (reported on `text`). */
export const textXorSsml = () =>
  z.refine<{ readonly text?: string; readonly ssml?: string }>(
    (v) => (v.text === undefined) !== (v.ssml === undefined),
    {
      message: "give exactly one of text or ssml",
      path: ["text"],
    },
  );
