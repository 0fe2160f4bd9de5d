/**
 * The DashScope CosyVoice WebSocket emulator (`/api-ws/v1/inference`), faithful to seed 001 and facts §8:
 * Bearer API key checked at the upgrade, run-task validated (model, voice, parameters), task-started, then sentences
 * synthesized as the text arrives, each as sentence-begin / sentence-synthesis + one binary frame / sentence-end with
 * cumulative usage.characters, and task-finished or task-failed. With enable_ssml a second continue-task fails with
 * "Text request limit violated, expected 1."
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import {
  COSYVOICE_MESSAGE_LIMIT,
  COSYVOICE_SEND_INTERVAL_LIMIT_MS,
  COSYVOICE_TASK_LIMIT,
} from "../../../lib/providers/dashscope/limits.js";
import { chunkText, cosyVoiceWeight, countCosyVoiceChars, validateSsml } from "../../../lib/text/index.js";
import { rateFromMultiplier } from "../../../lib/text/speech-rate.js";
import { checkCosyVoice } from "../../../lib/voices/cosyvoice.js";
import type { AudioFormat, SpeechSource } from "../audio/engine.js";
import type { QuotaGate } from "../quota.js";
import { checkContinueTask, checkRunTask, isFinishTask } from "./cosyvoice-wire.js";
import { THROTTLED } from "./throttled.js";

export class CosyVoiceFaults {
  /** error_code/error_message the next tasks fail with, after task-started. */
  readonly failNext: Array<{ code: string; message: string }> = [];
  /**
   * Events the official SDK tolerates, sent before each sentence: an event name it does not know, and a
   * sentence-begin whose sentence has no `words` (DashScope may add events; a client must pass over them).
   */
  quirks = false;
  /** Silence (bytes) sent after each sentence's audio: a very long answer, to fill a client's socket buffers. */
  padBytes = 0;
  /** The network to DashScope, as the NLS gateway models it: the TCP, TLS and WebSocket handshakes before the upgrade. */
  handshakeDelayMs = 0;
  /** And one round trip before each client message is acted on (messages keep their order). */
  messageDelayMs = 0;
  /** How long a running task may go without a client message before DashScope gives up on it (23 s). */
  taskIdleMs = COSYVOICE_SEND_INTERVAL_LIMIT_MS;
}

interface Task {
  readonly id: string;
  readonly ssml: boolean;
  readonly format: AudioFormat;
  readonly sampleRate: number;
  readonly volume: number;
  readonly rate: number;
  readonly pitch: number;
  readonly words: boolean;
  pending: string;
  continues: number;
  characters: number;
  /** Characters synthesized so far: usage.characters is cumulative (facts §8). */
  billed: number;
  sentences: number;
  chain: Promise<void>;
  failed: boolean;
  finished?: boolean;
  /** finish-task has come: the task ends once its text is spoken, whatever the client says meanwhile. */
  finishing?: boolean;
  /** Its place in the account's quota until it finishes, fails or its connection closes. */
  quota: { end(): void };
}

const SENTENCE = /[^。！？!?.\n]*[。！？!?.\n]+/gu;

export class CosyVoiceEmulator {
  readonly faults = new CosyVoiceFaults();
  /** `characters`: text received in continue-tasks, as CosyVoice counts it (a Han character 2). */
  readonly stats = { connections: 0, open: 0, tasks: 0, characters: 0 };
  /** The parameters of the last run-tasks taken (the newest last, at most 20): what a client really sent. */
  readonly runTasks: Array<{ model: string; parameters: Record<string, unknown> }> = [];
  readonly #wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });

  constructor(
    private readonly opts: {
      engine: SpeechSource;
      apiKeys: ReadonlySet<string>;
      /** The account's quota for CosyVoice tasks: over it, task-failed with Throttling.RateQuota. */
      quota?: QuotaGate;
    },
  ) {}

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const path = new URL(req.url ?? "/", "http://local").pathname.replace(/\/$/, "");
    if (path !== "/api-ws/v1/inference") return false;
    const key = /^bearer\s+(.+)$/i.exec(req.headers.authorization ?? "")?.[1];
    if (!key || !this.opts.apiKeys.has(key)) {
      const body = JSON.stringify({ code: "InvalidApiKey", message: "Invalid API-key provided." });
      socket.end(
        `HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      return true;
    }
    const upgrade = (): void => this.#wss.handleUpgrade(req, socket, head, (ws) => this.#session(ws));
    if (this.faults.handshakeDelayMs > 0) setTimeout(upgrade, this.faults.handshakeDelayMs);
    else upgrade();
    return true;
  }

  #session(ws: WebSocket): void {
    this.stats.connections++;
    this.stats.open++;
    let task: Task | undefined;
    // A running task whose client says nothing for taskIdleMs times out, as DashScope's does (its message and code
    // are not documented: ours say what happened).
    let quiet: NodeJS.Timeout | undefined;
    const listen = (): void => {
      clearTimeout(quiet);
      if (!task || task.failed || task.finishing) return;
      const t = task;
      quiet = setTimeout(() => {
        this.#fail(ws, t, "RequestTimeOut", `[tts:]No message from the client for ${this.faults.taskIdleMs / 1000} s.`);
        ws.close(1000);
      }, this.faults.taskIdleMs);
    };
    ws.on("close", () => {
      clearTimeout(quiet);
      this.stats.open--;
      task?.quota.end();
    });
    // Each message is acted on one modelled round trip after it came, in the order they came.
    let inbox = Promise.resolve();
    ws.on("message", (data, isBinary) => {
      const delay = this.faults.messageDelayMs;
      if (delay <= 0) return handle(data as Buffer, isBinary);
      const due = Date.now() + delay;
      inbox = inbox
        .then(() => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, due - Date.now()))))
        .then(() => handle(data as Buffer, isBinary));
    });
    const handle = (data: Buffer, isBinary: boolean): void => {
      if (isBinary || ws.readyState !== ws.OPEN) return;
      let msg: { header?: { action?: string; task_id?: string } } | null;
      try {
        msg = JSON.parse(data.toString());
      } catch {
        return failTask(ws, "", "InvalidParameter", "Request json illegal, failed to parse request.");
      }
      if (typeof msg !== "object" || msg === null || typeof msg.header !== "object" || msg.header === null)
        return failTask(ws, "", "InvalidParameter", "Request json illegal, failed to parse request.");
      const action = msg.header.action;
      const taskId = String(msg.header.task_id ?? "");
      if (action === "run-task") {
        // One task at a time; after task-finished (or task-failed) the connection takes the next one, as DashScope's does.
        if (task && !task.failed && !task.finished)
          return failTask(ws, taskId, "InvalidParameter", "A task is already running on this connection.");
        task = this.#run(ws, msg);
      } else if (!task || task.id !== taskId || task.failed) {
        failTask(ws, taskId, "InvalidParameter", `No running task ${taskId}.`);
      } else if (action === "continue-task") {
        this.#continue(ws, task, msg);
      } else if (action === "finish-task") {
        if (!isFinishTask(msg)) return this.#fail(ws, task, "InvalidParameter", "finish-task is malformed.");
        const t = task;
        t.finishing = true;
        t.chain = t.chain.then(() => this.#flush(ws, t, true));
      } else {
        failTask(ws, taskId, "InvalidParameter", `Unknown action '${String(action)}'.`);
      }
      listen();
    };
  }

  #run(ws: WebSocket, msg: unknown): Task | undefined {
    const taskId = String((msg as { header?: { task_id?: unknown } }).header?.task_id ?? "");
    const p = checkRunTask(msg);
    const payload = (msg as { payload?: { model?: unknown; parameters?: unknown } }).payload;
    this.runTasks.push({ model: String(payload?.model), parameters: { ...(payload?.parameters as object) } });
    if (this.runTasks.length > 20) this.runTasks.shift();
    if ("problem" in p) {
      failTask(ws, taskId, "InvalidParameter", p.problem);
      return undefined;
    }
    try {
      checkCosyVoice(p.model, p.voice);
    } catch (error) {
      failTask(
        ws,
        taskId,
        "InvalidParameter",
        /model/.test(String(error)) && !/voice/.test(String(error))
          ? "Model not exist."
          : "[tts:]Engine return error code: 418",
      );
      return undefined;
    }
    if (p.format === "opus") {
      failTask(ws, taskId, "InvalidParameter", "The local emulator cannot encode opus; use pcm, wav or mp3.");
      return undefined;
    }
    // DashScope's rate limit (docs/sources.md, "DashScope error codes"): the task fails before it starts.
    const admitted = this.opts.quota ? this.opts.quota.admit() : { end: () => undefined };
    if (!admitted) {
      failTask(ws, taskId, THROTTLED.code, THROTTLED.message);
      return undefined;
    }
    this.stats.tasks++;
    const task: Task = {
      quota: admitted,
      id: taskId,
      ssml: p.ssml,
      format: p.format,
      sampleRate: p.sampleRate,
      volume: p.volume,
      rate: p.rate,
      pitch: p.pitch,
      words: p.words,
      pending: "",
      continues: 0,
      characters: 0,
      billed: 0,
      sentences: 0,
      chain: Promise.resolve(),
      failed: false,
    };
    send(ws, { header: { task_id: taskId, event: "task-started", attributes: {} }, payload: {} });
    const injected = this.faults.failNext.shift();
    if (injected) this.#fail(ws, task, injected.code, injected.message);
    return task;
  }

  #continue(ws: WebSocket, task: Task, msg: unknown): void {
    const input = checkContinueTask(msg);
    if (!input) return this.#fail(ws, task, "InvalidParameter", "continue-task needs payload.input.text.");
    const text = input.text;
    if (text === undefined) {
      // flush: synthesize what is buffered now, sentence end or not.
      task.chain = task.chain.then(() => this.#flush(ws, task, false, true));
      return;
    }
    task.continues++;
    if (task.ssml && task.continues > 1)
      return this.#fail(ws, task, "InvalidParameter", "Text request limit violated, expected 1.");
    const weight = countCosyVoiceChars(text);
    if (weight > COSYVOICE_MESSAGE_LIMIT)
      return this.#fail(
        ws,
        task,
        "InvalidParameter",
        `[tts:]text length ${weight} exceeds the limit of ${COSYVOICE_MESSAGE_LIMIT} characters per request.`,
      );
    if (task.characters + weight > COSYVOICE_TASK_LIMIT)
      return this.#fail(
        ws,
        task,
        "InvalidParameter",
        `[tts:]text length exceeds the limit of ${COSYVOICE_TASK_LIMIT} characters per task.`,
      );
    task.characters += weight;
    this.stats.characters += weight;
    task.pending += text;
    task.chain = task.chain.then(() => this.#flush(ws, task, false));
  }

  /** Synthesizes the complete sentences buffered so far; at finish, the rest too, then task-finished. */
  async #flush(ws: WebSocket, task: Task, finish: boolean, all = finish): Promise<void> {
    if (task.failed) return;
    let ready: string[];
    if (task.ssml) {
      if (!finish) return;
      if (validateSsml(task.pending, { flavor: "cosyvoice", sampleRate: task.sampleRate }).length > 0)
        return this.#fail(ws, task, "InvalidParameter", "[tts:]Engine return error code: 413");
      ready = [task.pending];
      task.pending = "";
    } else {
      const complete = task.pending.match(SENTENCE) ?? [];
      const consumed = complete.join("").length;
      ready = complete.flatMap((s) => chunkText(s, { max: 400, weight: cosyVoiceWeight }));
      task.pending = task.pending.slice(consumed);
      if (all && task.pending.trim()) ready.push(task.pending);
      if (all) task.pending = "";
    }
    for (const sentence of ready.filter((s) => s.trim())) {
      if (task.failed || ws.readyState !== ws.OPEN) return;
      await this.#sentence(ws, task, sentence);
    }
    if (finish && !task.failed) {
      task.finished = true;
      task.quota.end();
      send(ws, {
        header: { task_id: task.id, event: "task-finished", attributes: { request_uuid: randomUUID() } },
        payload: { usage: { characters: task.billed } },
      });
    }
  }

  async #sentence(ws: WebSocket, task: Task, text: string): Promise<void> {
    const index = task.sentences++;
    const generated = (output: Record<string, unknown>, usage?: number): void =>
      send(ws, {
        header: { task_id: task.id, event: "result-generated", attributes: {} },
        payload: { output, ...(usage === undefined ? {} : { usage: { characters: usage } }) },
      });
    if (this.faults.quirks) {
      send(ws, { header: { task_id: task.id, event: "task-progress", attributes: {} }, payload: { progress: index } });
      send(ws, {
        header: { task_id: task.id, event: "result-generated", attributes: {} },
        payload: { output: { sentence: { index }, type: "sentence-begin", original_text: text } },
      });
    }
    generated({ sentence: { index, words: [] }, type: "sentence-begin", original_text: text });
    const result = await this.opts.engine.synthesize({
      text,
      sampleRate: task.sampleRate,
      format: task.format,
      volume: task.volume,
      // CosyVoice's rate and pitch are multipliers; the engine takes NLS's -500..500 scale.
      speechRate: rateFromMultiplier(task.rate, "rate"),
      pitchRate: rateFromMultiplier(task.pitch, "pitch"),
    });
    if (task.failed || ws.readyState !== ws.OPEN) return;
    generated({ sentence: { index, words: [] }, type: "sentence-synthesis" });
    // Sent as TCP sends it: the next sentence waits for this one to leave, so a client that pauses its socket holds
    // DashScope back (a service does not buffer a task's audio without bound for a reader that does not read).
    await new Promise<void>((resolve) => ws.send(result.audio, { binary: true }, () => resolve()));
    if (task.failed || ws.readyState !== ws.OPEN) return;
    for (let sent = 0; sent < this.faults.padBytes; sent += 64 * 1024)
      ws.send(Buffer.alloc(Math.min(64 * 1024, this.faults.padBytes - sent)), { binary: true });
    let at = 0;
    const words = task.words
      ? result.words.map((w) => {
          const begin = text.indexOf(w.text, at);
          at = begin + w.text.length;
          return { text: w.text, begin_index: begin, end_index: at, begin_time: w.begin_time, end_time: w.end_time };
        })
      : [];
    task.billed += countCosyVoiceChars(text);
    generated({ sentence: { index, words }, type: "sentence-end", original_text: text }, task.billed);
  }

  #fail(ws: WebSocket, task: Task, code: string, message: string): void {
    if (task.failed) return;
    task.failed = true;
    task.quota.end();
    failTask(ws, task.id, code, message);
  }

  close(): void {
    for (const client of this.#wss.clients) client.terminate();
    this.#wss.close();
  }
}

function send(ws: WebSocket, body: unknown): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(body));
}

function failTask(ws: WebSocket, taskId: string, code: string, message: string): void {
  send(ws, {
    header: { task_id: taskId, event: "task-failed", error_code: code, error_message: message, attributes: {} },
    payload: {},
  });
}
