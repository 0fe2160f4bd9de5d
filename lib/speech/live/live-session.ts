/**
 * One live stream from open to record, whatever carries it (a WebSocket, or an HTTP request with a chunked body):
 * the stream opened, its events handed to the carrier one at a time (the next is not asked for until the carrier has
 * taken this one, so a slow listener slows the stream), and at the end its lease given back and its record written,
 * whether or not the client is still there to read the end.
 */
import type { Logger } from "../../log.js";
import type { LiveRecords } from "./live-records.js";
import type { LiveEnd, LiveEvent } from "./live-speech.js";
import type { OpenedLive } from "./open-live.js";

/** An event as a JSON message (audio aside, which each carrier sends its own way). */
export function liveMessage(e: Exclude<LiveEvent, { type: "audio" }>, describe: (error: unknown) => unknown): string {
  if (e.type !== "end") return JSON.stringify(e);
  const { error, ...end } = e;
  return JSON.stringify({ ...end, ...(error === undefined ? {} : { error: describe(error) }) });
}

export async function runLive(
  opened: OpenedLive,
  deliver: (e: LiveEvent) => Promise<void>,
  deps: { readonly owner: string; readonly records?: LiveRecords; readonly log: Logger },
): Promise<LiveEnd | undefined> {
  const startedAt = new Date().toISOString();
  const log = deps.log.child({ liveSession: opened.session });
  let end: LiveEnd | undefined;
  try {
    for await (const e of opened.speech.events()) {
      if (e.type === "end") end = e;
      await deliver(e);
    }
  } catch (error) {
    log.warn("live stream failed", { error });
  } finally {
    await opened.release();
    const account = end ?? { type: "end" as const, ...opened.speech.account() };
    if (account.error) log.warn("live stream's provider failed", { error: account.error });
    log.info("live stream ended", {
      reason: account.reason,
      durationMs: account.durationMs,
      charactersSent: account.charactersSent,
      charactersSpoken: account.textSpoken.length,
      charactersUnspoken: account.textUnspoken.length,
    });
    await deps.records
      ?.put(deps.owner, {
        session: opened.session,
        provider: opened.provider,
        startedAt,
        endedAt: new Date().toISOString(),
        reason: account.reason,
        durationMs: account.durationMs,
        charactersSent: account.charactersSent,
        textSpoken: account.textSpoken,
        textUnspoken: account.textUnspoken,
      })
      .catch((error: unknown) => log.error("could not write the live stream's record", { error }));
  }
  return end;
}
