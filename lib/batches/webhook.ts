/**
 * Batch webhooks: where one may go (http(s), a public address unless the deployment allows private ones) and one
 * signed delivery, retried with backoff. The outcome is returned, never thrown: the caller records it.
 */
import { createHmac } from "node:crypto";
import { InputError } from "../errors.js";
import type { Logger } from "../log.js";
import { isPublicAddress, literalAddress } from "../net/public-address.js";
import { postWebhook, UnsafeAddressError } from "../net/webhook.js";
import { withRetry } from "../retry.js";
import { scrubSecrets } from "../secrets.js";

export interface WebhookOutcome {
  readonly status?: number;
  readonly error?: string;
}

export class BatchWebhooks {
  constructor(
    private readonly opts: {
      /** HMAC key the signature is made with. */
      readonly secret: string;
      readonly log: Logger;
      /** Addresses webhooks may reach; public unicast only by default. */
      readonly allow?: (address: string) => boolean;
      readonly now?: () => Date;
      /**
       * Each attempt's deadline, from connecting to the status line (default 5 s). Three attempts and their backoff
       * stay within the shortest timeout of a function that may finish a batch (callback: 30 s), so a receiver that
       * trickles its answer can never hold the finishing invocation, nor leave the outcome unrecorded.
       */
      readonly attemptDeadlineMs?: number;
    },
  ) {}

  /** A webhook naming a non-public IP is refused up front, with the field; a host name is checked as it resolves. */
  check(url: string): void {
    const literal = literalAddress(new URL(url).hostname);
    if (literal !== undefined && !(this.opts.allow ?? isPublicAddress)(literal)) {
      throw new InputError(
        "data.notify.url",
        `must not be a loopback, private, link-local, unique-local or metadata-service address (${literal})` +
          (this.opts.allow
            ? ""
            : "; a deployment that delivers webhooks inside its own network sets WEBHOOK_ALLOW_PRIVATE=true"),
      );
    }
  }

  /**
   * One delivery, signed over timestamp and body (`X-TTS-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`),
   * with `X-TTS-Delivery` to dedupe on. A redirect is not followed: it could lead anywhere the address check refused.
   */
  async send(url: string, delivery: string, payload: Record<string, unknown>): Promise<WebhookOutcome> {
    const body = JSON.stringify({ id: delivery, ...payload });
    const timestamp = String(Math.floor((this.opts.now?.() ?? new Date()).getTime() / 1000));
    const signature = createHmac("sha256", this.opts.secret).update(`${timestamp}.${body}`).digest("hex");
    let answered: number | undefined;
    try {
      await withRetry(
        async () => {
          const status = await postWebhook(url, {
            headers: {
              "content-type": "application/json",
              "x-tts-delivery": delivery,
              "x-tts-timestamp": timestamp,
              "x-tts-signature": `v1=${signature}`,
            },
            body,
            timeoutMs: this.opts.attemptDeadlineMs ?? 5_000,
            deadlineMs: this.opts.attemptDeadlineMs ?? 5_000,
            allow: this.opts.allow,
          });
          answered = status;
          if (status >= 500 || status === 429)
            throw Object.assign(new Error(`webhook answered ${status}`), { retryable: true });
          if (status >= 300 && status < 400) throw new Error(`webhook answered a redirect (${status}); not followed`);
        },
        // A refused address is final; a network failure or a timeout may pass.
        {
          attempts: 3,
          baseMs: 200,
          retryable: (e) =>
            (e as { retryable?: boolean }).retryable === true ||
            (!(e instanceof UnsafeAddressError) && (e as NodeJS.ErrnoException).code !== undefined) ||
            (e as Error).name === "TimeoutError",
        },
      );
      return { status: answered };
    } catch (error) {
      this.opts.log.warn("batch webhook failed", { delivery, error });
      return { ...(answered !== undefined ? { status: answered } : {}), error: scrubSecrets((error as Error).message) };
    }
  }
}
