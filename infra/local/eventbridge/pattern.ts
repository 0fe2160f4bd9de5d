/**
 * EventBridge event patterns (the subset this project's routes use, and what a mistaken route would use): a field's
 * list of accepted values, each a literal or `{prefix}`, `{suffix}`, `{anything-but}`, `{exists}`; objects match
 * nested fields. A field the pattern names and the event lacks does not match (except `{exists: false}`).
 */
type Condition = unknown;

function matchesOne(value: unknown, condition: Condition): boolean {
  if (condition === null || typeof condition !== "object") return value === condition;
  const c = condition as Record<string, unknown>;
  if ("prefix" in c) return typeof value === "string" && value.startsWith(String(c.prefix));
  if ("suffix" in c) return typeof value === "string" && value.endsWith(String(c.suffix));
  if ("exists" in c) return (value !== undefined) === Boolean(c.exists);
  if ("anything-but" in c) {
    const but = c["anything-but"];
    if (Array.isArray(but)) return value !== undefined && !but.includes(value);
    if (but !== null && typeof but === "object") return value !== undefined && !matchesOne(value, but);
    return value !== undefined && value !== but;
  }
  return false;
}

export function matchesPattern(event: Record<string, unknown>, pattern: Record<string, unknown>): boolean {
  for (const [field, expected] of Object.entries(pattern)) {
    const value = event[field];
    if (Array.isArray(expected)) {
      if (!expected.some((condition) => matchesOne(value, condition))) return false;
    } else if (expected !== null && typeof expected === "object") {
      if (
        value === null ||
        typeof value !== "object" ||
        !matchesPattern(value as Record<string, unknown>, expected as Record<string, unknown>)
      )
        return false;
    } else if (value !== expected) {
      return false;
    }
  }
  return true;
}
