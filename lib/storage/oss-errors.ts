/** How OSS failures are read: which are worth another attempt, and what the rest become for the job machine. */
import { UpstreamError } from "../errors.js";
import { OssRequestError } from "./oss-client.js";

/** The OSS error codes (or HTTP statuses) worth another attempt. */
export function isTransient(error: unknown): boolean {
  const e = error as { status?: number; code?: string };
  // Status 0: the request never got an answer (a reset, a refused connection, a timeout).
  if (error instanceof OssRequestError && e.status === 0) return true;
  if (e.status !== undefined && (e.status >= 500 || e.status === 429)) return true;
  // InvalidDigest: the bytes were damaged on the way; we still hold them, so sending them again is safe.
  return e.code === "InvalidDigest";
}

export function toUpstreamError(error: unknown, what: string): UpstreamError {
  if (error instanceof UpstreamError) return error;
  const e = error as { status?: number; code?: string; name?: string; requestId?: string };
  return new UpstreamError({
    provider: "oss",
    code: e.code ?? e.name ?? "OssError",
    upstreamMessage: `${what} failed: ${e.code ?? e.name}${e.status ? ` (HTTP ${e.status})` : ""}`,
    retryable: isTransient(error),
    cause: error,
  });
}

/** A create-if-absent write that found the object there (409 FileAlreadyExists). */
export function isAlreadyExists(error: unknown): boolean {
  const e = error as { status?: number; code?: string };
  return e.status === 409 && e.code === "FileAlreadyExists";
}
