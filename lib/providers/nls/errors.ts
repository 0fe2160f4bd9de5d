/**
 * An NLS error, classified by NLS's own status table (`status.ts`): what the code means, whether the same request may
 * succeed later, and whether a new token would help. What the caller says explicitly wins over the table.
 */
import { UpstreamError } from "../../errors.js";
import { describeNlsStatus, isRetryableNlsCode } from "./status.js";

export function nlsError(opts: Omit<ConstructorParameters<typeof UpstreamError>[0], "provider">): UpstreamError {
  const code = String(opts.code);
  const known = describeNlsStatus(code, opts.upstreamMessage);
  return new UpstreamError({
    ...opts,
    provider: "nls",
    upstreamMessage: opts.upstreamMessage ?? known?.message,
    explanation: opts.explanation ?? known?.explanation,
    retryable: opts.retryable ?? known?.retryable ?? isRetryableNlsCode(code),
    needsNewToken: opts.needsNewToken ?? known?.needsNewToken,
  });
}
