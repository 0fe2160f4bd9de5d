/**
 * FC 3.0's asynchronous invocation, locally: what InvokeFunction with `x-fc-invocation-type: Async` refuses, and what
 * FC's queue then does with an accepted event (docs/sources.md, "Asynchronous invocations"):
 * - a payload over 128 KB is refused (`EntityTooLarge`, "payload size exceeds maximum allowed size");
 * - the caller's role must be allowed `fc:InvokeFunction` on the target's ARN, or the call is refused (`AccessDenied`);
 * - an accepted event runs at least once; a failure is retried `maxAsyncRetryAttempts` times (default 3), not past
 *   `maxAsyncEventAgeInSeconds` (default 86,400) from acceptance;
 * - when the retries are spent, the `onFailure` destination (another function) is invoked asynchronously with FC's
 *   destination record, provided the failed function's role may invoke it.
 */
import { randomUUID } from "node:crypto";
import { UpstreamError } from "../../lib/errors.js";
import type { Logger } from "../../lib/log.js";
import type { PendingWork } from "./pending.js";
import { isAllowed, type PolicyDocument } from "./ram/policy.js";

/** The payload limit of an asynchronous invocation (256 KB only by a support ticket). */
export const ASYNC_PAYLOAD_LIMIT = 128 * 1024;

export interface AsyncInvokeConfig {
  readonly maxAsyncRetryAttempts?: number;
  readonly maxAsyncEventAgeInSeconds?: number;
  readonly destinationConfig?: { onFailure?: { destination: string }; onSuccess?: { destination: string } };
}

export interface AsyncTarget {
  readonly resource: string;
  readonly functionName: string;
  readonly config?: AsyncInvokeConfig;
  /** The function's role policy: it governs what the function's destinations may be. */
  readonly policy?: PolicyDocument;
}

export class AsyncInvocations {
  constructor(
    private readonly opts: {
      region: string;
      accountId: string;
      targets: ReadonlyMap<string, AsyncTarget>;
      run: (resource: string, event: unknown) => Promise<unknown>;
      pending: PendingWork;
      log: Logger;
      now?: () => number;
      /** Milliseconds before retry `n` (1-based); FC backs off, the local host briefly. */
      retryDelayMs?: (attempt: number) => number;
      /** Overrides every function's retry count (tests that want failures fast). */
      retries?: number;
    },
  ) {}

  /** The ARN a role policy names for a function: `acs:fc:<region>:<account>:functions/<name>`. */
  arn(functionName: string): string {
    return `acs:fc:${this.opts.region}:${this.opts.accountId}:functions/${functionName}`;
  }

  /**
   * InvokeFunction (Async) from a function whose role has `policy` (undefined: FC's own triggers, which need none).
   * Resolves when FC has accepted the event; throws what FC answers when it refuses.
   */
  async invoke(
    functionName: string,
    payload: unknown,
    caller?: { name: string; policy?: PolicyDocument },
  ): Promise<void> {
    const target = [...this.opts.targets.values()].find(
      (t) => t.functionName === functionName || t.resource === functionName,
    );
    if (!target)
      throw new UpstreamError({
        provider: "fc",
        code: "FunctionNotFound",
        upstreamMessage: `function ${functionName} does not exist`,
        retryable: false,
      });
    const body = JSON.stringify(payload);
    const bytes = Buffer.byteLength(body);
    if (bytes > ASYNC_PAYLOAD_LIMIT)
      throw new UpstreamError({
        provider: "fc",
        code: "EntityTooLarge",
        upstreamMessage: `payload size exceeds maximum allowed size: ${bytes} bytes to ${functionName}, at most ${ASYNC_PAYLOAD_LIMIT} in an asynchronous invocation`,
        retryable: false,
      });
    if (
      caller &&
      !(
        caller.policy &&
        isAllowed(caller.policy, { action: "fc:InvokeFunction", resource: this.arn(target.functionName) })
      )
    )
      throw new UpstreamError({
        provider: "fc",
        code: "AccessDenied",
        upstreamMessage: `${caller.name}'s role is not authorized to perform fc:InvokeFunction on ${this.arn(target.functionName)}`,
        retryable: false,
      });
    this.opts.pending.track(this.#run(target, body, this.#now()));
  }

  async #run(target: AsyncTarget, body: string, acceptedAt: number): Promise<void> {
    const retries = this.opts.retries ?? target.config?.maxAsyncRetryAttempts ?? 3;
    const maxAgeMs = (target.config?.maxAsyncEventAgeInSeconds ?? 86_400) * 1000;
    const requestId = `1-${randomUUID()}`;
    let lastError: unknown;
    let attempts = 0;
    for (let attempt = 1; attempt <= 1 + retries; attempt++) {
      if (attempt > 1) {
        await new Promise((r) => setTimeout(r, this.opts.retryDelayMs?.(attempt - 1) ?? 50 * 2 ** attempt));
        if (this.#now() - acceptedAt > maxAgeMs) break;
      } else await new Promise((r) => setImmediate(r));
      attempts = attempt;
      try {
        // Each attempt gets the event as FC stores it: the bytes the caller sent.
        await this.opts.run(target.resource, JSON.parse(body));
        return;
      } catch (error) {
        lastError = error;
        this.opts.log.warn("async invocation failed", { function: target.functionName, attempt, error });
      }
    }
    await this.#onFailure(target, body, requestId, attempts, lastError);
  }

  /** FC's destination record for a failed invocation, sent to the onFailure function when the role allows it. */
  async #onFailure(
    target: AsyncTarget,
    body: string,
    requestId: string,
    attempts: number,
    error: unknown,
  ): Promise<void> {
    const destination = target.config?.destinationConfig?.onFailure?.destination;
    if (!destination) return;
    const name = /:functions\/([^/]+)$/.exec(destination)?.[1];
    const record = {
      timestamp: this.#now(),
      requestContext: {
        requestId,
        functionArn: this.arn(target.functionName),
        condition: "RetriesExhausted",
        approximateInvokeCount: attempts,
      },
      requestPayload: body,
      responseContext: { statusCode: 200, functionError: "UnhandledInvocationError" },
      responsePayload: JSON.stringify({ errorMessage: error instanceof Error ? error.message : String(error) }),
    };
    try {
      if (!name) throw new Error(`destination ${destination} is not a function`);
      await this.invoke(name, record, { name: target.functionName, policy: target.policy });
    } catch (refused) {
      this.opts.log.error("async destination not delivered", {
        function: target.functionName,
        destination,
        error: refused,
      });
    }
  }

  #now(): number {
    return this.opts.now?.() ?? Date.now();
  }
}
