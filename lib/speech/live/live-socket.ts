/**
 * The live WebSocket protocol (`/v1/live`). The client sends JSON messages: `start` with the options, then `text`
 * fragments, `flush`, and `end` or `interrupt`. The service answers `started` (the session, format and sample rate),
 * audio in binary frames as it is made, `word` and `sentence` marks timed from the stream's start, and last `end`
 * with what was spoken (`textSpoken`) and what was not (`textUnspoken`); then it closes. A message it cannot take gets
 * an `error` naming the field, and the stream goes on; an error before `started` closes the session.
 *
 * Messages that come while the stream opens (its lease, its provider connection) wait, in order, and go on after.
 */
import WebSocket from "ws";
import { InputError, toErrorBody } from "../../errors.js";
import { guarded } from "../../http/boundary.js";
import type { Logger } from "../../log.js";
import { parseInput } from "../../validation.js";
import type { LiveRecords } from "./live-records.js";
import { type LiveClientMessage, LiveClientMessageSchema, type LiveOptions } from "./live-request.js";
import { liveMessage, runLive } from "./live-session.js";
import type { OpenedLive } from "./open-live.js";

export interface LiveSocketOptions {
  readonly open: (options: LiveOptions) => Promise<OpenedLive>;
  readonly owner: string;
  readonly records?: LiveRecords;
  readonly log: Logger;
  /** Close a session whose client has said nothing for this long (the stream ends as if it had sent `end`). */
  readonly idleTimeoutMs?: number;
}

export function serveLiveSocket(ws: WebSocket, opts: LiveSocketOptions): void {
  let opened: OpenedLive | undefined;
  let starting = false;
  let waiting: LiveClientMessage[] = [];
  let idle: NodeJS.Timeout | undefined;
  const idleTimeoutMs = opts.idleTimeoutMs ?? 60_000;
  const describe = (error: unknown) => toErrorBody(error).body.error;
  const sendJson = (body: unknown): void => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(body));
  };
  const refuse = (error: unknown): void => {
    if (!(error instanceof InputError)) opts.log.warn("live message refused", { error });
    sendJson({ type: "error", error: describe(error) });
  };
  const touch = (): void => {
    clearTimeout(idle);
    idle = setTimeout(
      guarded(opts.log, "live idle timer", () => {
        if (opened) opened.speech.end();
        else ws.close(1000);
      }),
      idleTimeoutMs,
    );
  };

  const apply = (message: LiveClientMessage): void => {
    const speech = opened!.speech;
    if (message.type === "start") return refuse(new InputError("type", "the stream has started already"));
    if (message.type === "interrupt") return speech.interrupt();
    if (message.type === "end") return speech.end();
    if (message.type === "flush") return speech.flush();
    try {
      speech.write(message.text);
    } catch (error) {
      refuse(error);
      // Past the stream's maximum: what was taken is spoken, and the stream ends.
      if (error instanceof InputError && error.code === "TextTooLong") speech.end();
    }
  };

  const start = (options: LiveOptions): void => {
    starting = true;
    opts.open(options).then(
      (o) => {
        opened = o;
        if (ws.readyState !== WebSocket.OPEN) o.speech.interrupt();
        sendJson({
          type: "started",
          session: o.session,
          provider: o.provider,
          format: o.format,
          sampleRate: o.sampleRate,
          contentType: o.contentType,
          label: o.label,
        });
        for (const m of waiting) apply(m);
        waiting = [];
        void runLive(
          o,
          async (e) => {
            if (ws.readyState !== WebSocket.OPEN) return;
            if (e.type === "audio")
              await new Promise<void>((resolve) => ws.send(e.data, { binary: true }, () => resolve()));
            else ws.send(liveMessage(e, describe));
          },
          { owner: opts.owner, records: opts.records, log: opts.log },
        ).finally(() => {
          clearTimeout(idle);
          if (ws.readyState === WebSocket.OPEN) ws.close(1000);
        });
      },
      (error: unknown) => {
        refuse(error);
        clearTimeout(idle);
        if (ws.readyState === WebSocket.OPEN) ws.close(1000);
      },
    );
  };

  const onMessage = (data: Buffer, isBinary: boolean): void => {
    touch();
    if (isBinary) return refuse(new InputError("message", "must be a JSON text message; audio is not taken here"));
    let parsed: unknown;
    try {
      parsed = JSON.parse(data.toString("utf8"));
    } catch {
      return refuse(new InputError("message", "is not JSON"));
    }
    let message: LiveClientMessage;
    try {
      message = parseInput(LiveClientMessageSchema, parsed);
    } catch (error) {
      return refuse(error);
    }
    if (opened) return apply(message);
    if (message.type === "start" && !starting) {
      const { type: _type, ...options } = message;
      return start(options);
    }
    if (!starting) return refuse(new InputError("type", 'send "start" first, with the stream\'s options'));
    waiting.push(message);
  };

  touch();
  ws.on("error", (error) => opts.log.debug("live socket error", { error }));
  ws.on("close", () => {
    clearTimeout(idle);
    // The client has gone: nothing more is spoken, and the record says what it heard.
    opened?.speech.interrupt();
    waiting = [{ type: "interrupt" }];
  });
  ws.on("message", guarded(opts.log, "live message", onMessage));
}
