/**
 * RAM authorization of an OSS request made with a role's STS credentials: each operation is the RAM action OSS checks
 * for it (multipart parts and completion are `oss:PutObject`, HEAD is `oss:GetObject`, a bucket listing is
 * `oss:ListObjects` on the bucket with the `oss:Prefix` condition key), on `acs:oss:<region>:<account>:<bucket>/<key>`.
 * OSS's "RAM policy" and "Actions, resources and condition keys" documents (docs/sources.md).
 */
import type { AccessKey } from "../access-keys.js";
import { isAllowed } from "../ram/policy.js";
import type { OssOperation } from "./server.js";

const ACTIONS: Record<OssOperation, string> = {
  PutObject: "oss:PutObject",
  InitiateMultipartUpload: "oss:PutObject",
  UploadPart: "oss:PutObject",
  CompleteMultipartUpload: "oss:PutObject",
  AbortMultipartUpload: "oss:AbortMultipartUpload",
  GetObject: "oss:GetObject",
  HeadObject: "oss:GetObject",
  DeleteObject: "oss:DeleteObject",
  ListObjects: "oss:ListObjects",
};

/** The RAM action a refused request needed, or undefined when the key may do it (a key without a role may do anything). */
export function ossDenial(
  key: AccessKey | undefined,
  req: { op: OssOperation; bucket: string; key: string; query: URLSearchParams; region: string },
): string | undefined {
  if (!key?.role) return undefined;
  const action = ACTIONS[req.op];
  const resource =
    req.op === "ListObjects"
      ? `acs:oss:${req.region}:${key.userId}:${req.bucket}`
      : `acs:oss:${req.region}:${key.userId}:${req.bucket}/${req.key}`;
  const context: Record<string, string> =
    req.op === "ListObjects" ? { "oss:Prefix": req.query.get("prefix") ?? "" } : {};
  return isAllowed(key.role.policy, { action, resource, context }) ? undefined : `${action} on ${resource}`;
}
