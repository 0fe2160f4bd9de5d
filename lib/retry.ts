/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): the delay before
 * attempt n is uniform in [0, min(cap, base * 2^n)], which spreads retries of many clients apart.
 */
import { UpstreamError } from "./errors.js";

export interface RetryOptions {
  readonly attempts?: number;
  readonly baseMs?: number;
  readonly capMs?: number;
  readonly random?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly signal?: AbortSignal;
  /** Which errors are worth another attempt; default: a retryable UpstreamError. */
  readonly retryable?: (error: unknown) => boolean;
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/** The backoff knobs a client exposes; which errors are retryable stays the client's decision. */
export type BackoffOptions = Pick<RetryOptions, "attempts" | "baseMs" | "capMs" | "random" | "sleep" | "onRetry">;

export const isRetryable = (error: unknown): boolean => error instanceof UpstreamError && error.retryable;

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const attempts = opts.attempts ?? 4;
  const random = opts.random ?? Math.random;
  const sleep = opts.sleep ?? abortableSleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt + 1 >= attempts || !(opts.retryable ?? isRetryable)(error) || opts.signal?.aborted) throw error;
      const delay = Math.round(random() * Math.min(opts.capMs ?? 10_000, (opts.baseMs ?? 200) * 2 ** attempt));
      opts.onRetry?.(error, attempt + 1, delay);
      await sleep(delay, opts.signal);
    }
  }
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
