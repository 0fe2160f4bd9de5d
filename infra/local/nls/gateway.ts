/**
 * The NLS WebSocket gateway (`/ws/v1`), faithful to seed 000: token and AppKey checked, StartSynthesis validated
 * with the seed's status codes, real audio in binary frames, MetaInfo subtitles for voices with timestamps,
 * SynthesisCompleted or TaskFailed, and a 10 s idle timeout (40000004).
 *
 * Over-long text is handled as the seed says the real gateway does: plain text is cut to 300 characters, SSML is
 * refused with `SSML text length should be less than 300.` Our own clients refuse such text before connecting.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import { chunkText, countNlsChars, looksLikeSsml, spokenText, validateSsml } from "../../../lib/text/index.js";
import { findNlsVoice } from "../../../lib/voices/index.js";
import type { AudioFormat, SpeechSource } from "../audio/engine.js";
import type { QuotaGate } from "../quota.js";
import type { TokenRegistry } from "./tokens.js";

export interface GatewayOptions {
  readonly engine: SpeechSource;
  readonly tokens: TokenRegistry;
  /** AppKey → owning account (UID). */
  readonly appKeys: ReadonlyMap<string, string>;
  readonly idleTimeoutMs?: number;
  /** The account's quota for this API (syntheses at once, started a second): over it, 40000005. */
  readonly quota: QuotaGate;
  /** Bytes per binary frame. */
  readonly frameBytes?: number;
}

/** Fault knobs for reliability tests. */
export class GatewayFaults {
  /** Status codes the next tasks fail with, in order (after validation, before audio). */
  readonly failNext: Array<{ status: number; text?: string }> = [];
  /** Close the socket abruptly (no completion) after sending this many audio bytes, once. */
  dropAfterBytes: number | undefined;
  /** Delay before each audio frame (ms), to make streams slow. */
  frameDelayMs = 0;
  /** The next N tasks are refused as the real gateway refuses a bad token: 40000001, quoting the token it was sent. */
  refuseTokens = 0;
  /** Silence (bytes) appended to each task's audio: a very long answer, to fill a client's socket buffers. */
  padBytes = 0;
  /**
   * Time the connection's handshakes take before the upgrade is answered: a model of the network, where TCP, TLS and
   * the WebSocket upgrade cost one to three round trips to the gateway (20–40 ms each from outside its region).
   */
  handshakeDelayMs = 0;
  /** Time a request frame takes to reach the gateway and its answer to come back: one round trip, before the task. */
  messageDelayMs = 0;
}

export interface GatewayStats {
  connections: number;
  open: number;
  /** The most connections open at once since the last reset (a stream's look-ahead shows here as 2). */
  peakOpen: number;
  tasks: number;
  /** Characters of the tasks started (as NLS counts them): what the account is billed for. */
  characters: number;
}

const NAMESPACES = new Set(["SpeechSynthesizer", "SpeechLongSynthesizer"]);
const MAX_SHORT_TEXT = 300;
/** A short first piece gives a quick first byte; longer later pieces keep the per-piece engine overhead low. */
const FIRST_PIECE_CHARS = 24;
const LATER_PIECE_CHARS = 150;

export class NlsGateway {
  readonly faults = new GatewayFaults();
  readonly stats: GatewayStats = { connections: 0, open: 0, peakOpen: 0, tasks: 0, characters: 0 };
  readonly #wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });

  constructor(private readonly opts: GatewayOptions) {}

  /** Handles an HTTP upgrade; returns false when the path is not the gateway's. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? "/", "http://local");
    if (url.pathname !== "/ws/v1") return false;
    const token = (req.headers["x-nls-token"] as string | undefined) ?? url.searchParams.get("token") ?? undefined;
    if (!token) {
      socket.end("HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nForbidden");
      return true;
    }
    const upgrade = (): void => this.#wss.handleUpgrade(req, socket, head, (ws) => this.#session(ws, token));
    if (this.faults.handshakeDelayMs > 0) setTimeout(upgrade, this.faults.handshakeDelayMs);
    else upgrade();
    return true;
  }

  #session(ws: WebSocket, token: string): void {
    this.stats.connections++;
    this.stats.open++;
    this.stats.peakOpen = Math.max(this.stats.peakOpen, this.stats.open);
    let busy = false;
    const idleMs = this.opts.idleTimeoutMs ?? 10_000;
    let idle = setTimeout(
      () =>
        fail(
          ws,
          "",
          40000004,
          "Gateway:IDLE_TIMEOUT:Websocket session is idle for too long time,the last directive is 'None'!",
        ),
      idleMs,
    );
    ws.on("close", () => {
      clearTimeout(idle);
      this.stats.open--;
    });
    ws.on("message", (data, isBinary) => {
      clearTimeout(idle);
      if (busy) return fail(ws, "", 40010005, "Gateway:TASK_STATE_ERROR:Got directive while task is running!");
      if (isBinary)
        return fail(ws, "", 40000002, "Gateway:MESSAGE_INVALID:Binary message is not expected by SpeechSynthesizer!");
      busy = true;
      const delay = this.faults.messageDelayMs;
      (delay > 0 ? sleep(delay) : Promise.resolve())
        .then(() => this.#task(ws, token, data.toString()))
        .catch((error: unknown) => fail(ws, "", 50000000, `GRPC_ERROR:${String(error)}`))
        .finally(() => {
          busy = false;
          if (ws.readyState === ws.OPEN)
            idle = setTimeout(
              () =>
                fail(
                  ws,
                  "",
                  40000004,
                  "Gateway:IDLE_TIMEOUT:Websocket session is idle for too long time,the last directive is 'StartSynthesis'!",
                ),
              idleMs,
            );
        });
    });
  }

  async #task(ws: WebSocket, token: string, text: string): Promise<void> {
    let msg: { header?: Record<string, unknown>; payload?: Record<string, unknown> };
    try {
      msg = JSON.parse(text) as typeof msg;
    } catch {
      return fail(ws, "", 40000002, "Gateway:MESSAGE_INVALID:Can't parse message as json!");
    }
    const header = msg.header ?? {};
    const taskId = typeof header.task_id === "string" ? header.task_id : "";
    const namespace = String(header.namespace ?? "");
    if (!/^[0-9a-f]{32}$/.test(taskId) || typeof header.message_id !== "string")
      return fail(ws, taskId, 40000002, "Gateway:MESSAGE_INVALID:task_id and message_id must be 32-character hex ids!");
    if (!NAMESPACES.has(namespace))
      return fail(ws, taskId, 40010001, `Gateway:NAMESPACE_NOT_FOUND:Namespace '${namespace}' is not supported!`);
    if (header.name !== "StartSynthesis")
      return fail(
        ws,
        taskId,
        40010003,
        `Gateway:DIRECTIVE_INVALID:[${String(header.name)}] is not supported before StartSynthesis!`,
      );

    if (this.faults.refuseTokens > 0) {
      this.faults.refuseTokens--;
      return fail(ws, taskId, 40000001, `The token '${token}' is invalid!`);
    }
    const checked = this.opts.tokens.check(token);
    if (!checked.ok)
      return fail(
        ws,
        taskId,
        40000001,
        checked.reason === "expired" ? `The token '${token}' has expired!` : `The token '${token}' is invalid!`,
      );
    const owner = this.opts.appKeys.get(String(header.appkey ?? ""));
    if (owner === undefined) return fail(ws, taskId, 40020105, "Meta:APPKEY_NOT_EXIST:Appkey not exist!");
    if (owner !== checked.token.userId)
      return fail(ws, taskId, 40020106, "Meta:APPKEY_UID_MISMATCH:Appkey and user mismatch!");

    const p = msg.payload ?? {};
    const invalid = validatePayload(p);
    if (invalid) return fail(ws, taskId, invalid.status, invalid.text);
    const voice = findNlsVoice(String(p.voice ?? "xiaoyun"))!;
    const sampleRate = Number(p.sample_rate ?? 16000);
    let input = String(p.text);
    if (looksLikeSsml(input)) {
      if (countNlsChars(input) > MAX_SHORT_TEXT)
        return fail(ws, taskId, 41020001, "TTS:TtsClientError:SSML text length should be less than 300.");
      const issues = validateSsml(input, { flavor: "nls", emotions: voice.emotions, sampleRate });
      if (issues.some((i) => i.message.includes("<emotion>")))
        return fail(ws, taskId, 41020001, "TTS:TtsClientError:Illegal ssml text");
      if (issues.length > 0) return fail(ws, taskId, 41020001, "TTS:TtsClientError:[tts]Engine return error code: 413");
    } else if (countNlsChars(input) > MAX_SHORT_TEXT) {
      input = Array.from(input).slice(0, MAX_SHORT_TEXT).join("");
    }

    // Seed 000's 40000005 (one AppKey, one account, so one quota): "Too many concurrent requests."
    const admitted = this.opts.quota.admit();
    if (!admitted) return fail(ws, taskId, 40000005, "Gateway:TOO_MANY_REQUESTS:Too many requests!");
    const injected = this.faults.failNext.shift();
    if (injected) {
      admitted.end();
      return fail(ws, taskId, injected.status, injected.text ?? "Injected fault");
    }

    this.stats.tasks++;
    this.stats.characters += countNlsChars(input);
    const sent = { bytes: 0 };
    try {
      const format = String(p.format ?? "pcm") as AudioFormat;
      // Like the real gateway, audio streams as it is made: sentence by sentence for pcm and mp3 (MP3 frames and raw
      // PCM concatenate cleanly); WAV needs one header over all the data, so it is made whole.
      const pieces = format === "wav" ? [input] : streamPieces(input);
      let offsetMs = 0;
      for (const piece of pieces) {
        const result = await this.opts.engine.synthesize({
          text: piece,
          sampleRate,
          format,
          volume: Number(p.volume ?? 50),
          speechRate: Number(p.speech_rate ?? 0),
          pitchRate: Number(p.pitch_rate ?? 0),
          male: / male/i.test(voice.type),
        });
        if (ws.readyState !== ws.OPEN) return;
        if (p.enable_subtitle === true && voice.timestamps) {
          const subtitles = result.words.map((w) => ({
            ...w,
            begin_time: w.begin_time + offsetMs,
            end_time: w.end_time + offsetMs,
          }));
          send(ws, event(taskId, "MetaInfo", { subtitles }));
        }
        offsetMs += result.durationMs;
        if (!(await this.#stream(ws, result.audio, sent))) return;
      }
      if (this.faults.padBytes > 0 && !(await this.#stream(ws, Buffer.alloc(this.faults.padBytes), sent))) return;
      if (ws.readyState === ws.OPEN) send(ws, event(taskId, "SynthesisCompleted", {}));
    } finally {
      admitted.end();
    }
  }

  /** Sends audio in frames; false when the connection is gone (or was dropped on purpose). */
  async #stream(ws: WebSocket, audio: Buffer, sent: { bytes: number }): Promise<boolean> {
    const size = this.opts.frameBytes ?? 4096;
    for (let i = 0; i < audio.length; i += size) {
      if (ws.readyState !== ws.OPEN) return false;
      if (this.faults.dropAfterBytes !== undefined && sent.bytes >= this.faults.dropAfterBytes) {
        this.faults.dropAfterBytes = undefined;
        ws.terminate();
        return false;
      }
      if (this.faults.frameDelayMs > 0) await sleep(this.faults.frameDelayMs);
      const frame = audio.subarray(i, i + size);
      await new Promise<void>((resolve) => ws.send(frame, { binary: true }, () => resolve()));
      sent.bytes += frame.length;
    }
    return ws.readyState === ws.OPEN;
  }

  close(): void {
    for (const client of this.#wss.clients) client.terminate();
    this.#wss.close();
  }
}

function streamPieces(text: string): string[] {
  const [first, ...rest] = chunkText(text, { max: LATER_PIECE_CHARS });
  if (first === undefined) return [];
  // Consecutive <speak> documents are valid SSML, so the rest of the first piece can be joined back together.
  const [head, ...tail] = chunkText(first, { max: FIRST_PIECE_CHARS });
  return [head!, ...(tail.length > 0 ? [tail.join("")] : []), ...rest];
}

function validatePayload(p: Record<string, unknown>): { status: number; text: string } | undefined {
  if (typeof p.text !== "string" || spokenText(p.text).trim() === "")
    return { status: 40010003, text: "Gateway:DIRECTIVE_INVALID:No text specified!" };
  const voice = findNlsVoice(String(p.voice ?? "xiaoyun"));
  if (!voice) return { status: 41020001, text: "TTS:TtsClientError:[tts]Engine return error code: 418" };
  const format = p.format ?? "pcm";
  if (format !== "pcm" && format !== "wav" && format !== "mp3")
    return { status: 40000003, text: `PARAMETER_INVALID:format '${String(format)}' is not supported!` };
  const rate = Number(p.sample_rate ?? 16000);
  if (!voice.sampleRates.includes(rate)) return { status: 41010101, text: "UNSUPPORTED_SAMPLE_RATE" };
  const range = (name: string, min: number, max: number): boolean =>
    p[name] === undefined || (Number.isInteger(p[name]) && (p[name] as number) >= min && (p[name] as number) <= max);
  if (!range("volume", 0, 100)) return { status: 40000003, text: "PARAMETER_INVALID:volume must be 0-100!" };
  if (!range("speech_rate", -500, 500))
    return { status: 40000003, text: "PARAMETER_INVALID:speech_rate must be -500-500!" };
  if (!range("pitch_rate", -500, 500))
    return { status: 40000003, text: "PARAMETER_INVALID:pitch_rate must be -500-500!" };
  return undefined;
}

function event(taskId: string, name: string, payload: Record<string, unknown>): Record<string, unknown> {
  return {
    header: {
      message_id: randomUUID().replace(/-/g, ""),
      task_id: taskId,
      namespace: "SpeechSynthesizer",
      name,
      status: 20000000,
      status_message: "GATEWAY|SUCCESS|Success.",
    },
    payload,
  };
}

function send(ws: WebSocket, body: Record<string, unknown>): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(body));
}

/** TaskFailed as seed 000 shows it (namespace Default, status_text), then the gateway closes the connection. */
function fail(ws: WebSocket, taskId: string, status: number, text: string): void {
  send(ws, {
    header: {
      namespace: "Default",
      name: "TaskFailed",
      status,
      message_id: randomUUID().replace(/-/g, ""),
      task_id: taskId,
      status_text: text,
    },
  });
  ws.close(1000);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
