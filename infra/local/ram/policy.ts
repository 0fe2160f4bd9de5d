/**
 * RAM policy evaluation as Alibaba Cloud does it for a role's STS credentials, enough for the policies this project
 * writes: a request is allowed when some `Allow` statement matches its action and resource (and conditions) and no
 * `Deny` statement does; nothing else is allowed (RAM's "Policy elements" and "Policy evaluation logic",
 * docs/sources.md). `*` and `?` are wildcards in actions and resources; actions match case-insensitively.
 * Conditions: `StringEquals`, `StringLike`, `StringNotLike`, `StringNotEquals`, a key's values or'ed, keys and'ed.
 */
import { z } from "../../../lib/zod.js";

const OneOrMany = z.union([z.string(), z.array(z.string())]);

const StatementSchema = z.object({
  Effect: z.enum(["Allow", "Deny"]),
  Action: OneOrMany,
  Resource: OneOrMany,
  Condition: z.optional(z.record(z.string(), z.record(z.string(), OneOrMany))),
});

export const PolicyDocumentSchema = z.object({ Version: z.string(), Statement: z.array(StatementSchema) });
export type PolicyDocument = z.infer<typeof PolicyDocumentSchema>;

export interface AccessRequest {
  /** `oss:GetObject`, `fc:InvokeFunction`, … */
  readonly action: string;
  /** `acs:oss:*:<account>:<bucket>/<key>`, `acs:fc:<region>:<account>:functions/<name>`, … */
  readonly resource: string;
  /** Condition keys the service sets for the request: `oss:Prefix` for a listing. */
  readonly context?: Readonly<Record<string, string>>;
}

const list = (v: string | readonly string[]): readonly string[] => (typeof v === "string" ? [v] : v);

function wildcard(pattern: string, flags = ""): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${body}$`, `s${flags}`);
}

function conditionHolds(op: string, key: string, values: readonly string[], context: Record<string, string>): boolean {
  const actual = context[key];
  switch (op) {
    case "StringEquals":
      return actual !== undefined && values.includes(actual);
    case "StringNotEquals":
      return actual === undefined || !values.includes(actual);
    case "StringLike":
      return actual !== undefined && values.some((v) => wildcard(v).test(actual));
    case "StringNotLike":
      return actual === undefined || !values.some((v) => wildcard(v).test(actual));
    default:
      // An operator this evaluator does not know never grants: the cautious reading.
      return false;
  }
}

function matches(statement: z.infer<typeof StatementSchema>, req: AccessRequest): boolean {
  if (!list(statement.Action).some((a) => wildcard(a, "i").test(req.action))) return false;
  if (!list(statement.Resource).some((r) => wildcard(r).test(req.resource))) return false;
  const context = req.context ?? {};
  for (const [op, keys] of Object.entries(statement.Condition ?? {}))
    for (const [key, values] of Object.entries(keys)) if (!conditionHolds(op, key, list(values), context)) return false;
  return true;
}

/** `true` when `policy` allows `req`: an Allow matches and no Deny does. */
export function isAllowed(policy: PolicyDocument, req: AccessRequest): boolean {
  const hits = policy.Statement.filter((s) => matches(s, req));
  return hits.some((s) => s.Effect === "Allow") && !hits.some((s) => s.Effect === "Deny");
}
