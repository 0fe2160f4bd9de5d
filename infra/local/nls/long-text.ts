/**
 * The NLS long-text REST emulator (`/rest/v1/tts/async`), faithful to seed 003: token and AppKey checked, the request
 * validated (8/16 kHz, pcm/wav/mp3, at most 100,000 characters, notify_url required with enable_notify and naming a
 * host, not an IP), QUEUEING → RUNNING → SUCCESS over configurable delays, real audio served by URL for the retention
 * period, sentences with enable_subtitle, and the seed's callback body POSTed to notify_url.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { createReadStream, readFileSync, renameSync, writeFileSync } from "node:fs";
import { mkdir, open, readdir, readFile, rm, stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { requestText } from "../../../lib/net/http-client.js";
import { isIpHost, LONG_TEXT_LIMIT, type Sentence } from "../../../lib/providers/nls/long-text.js";
import { countNlsChars, looksLikeSsml, spokenText, validateSsml } from "../../../lib/text/index.js";
import { sentenceSpans } from "../../../lib/text/sentences.js";
import { findNlsVoice } from "../../../lib/voices/index.js";
import { type SpeechSource, synthesizeLong } from "../audio/engine.js";
import { padWithSilence } from "../audio/padding.js";
import { readBody, sendJson } from "../http-util.js";
import { PendingWork } from "../pending.js";
import type { QuotaGate, QuotaTicket } from "../quota.js";
import { checkLongTextRequest, type TtsRequest } from "./long-text-wire.js";
import { PAD_MS, SynthesisFaults } from "./synthesis-faults.js";
import type { TokenRegistry } from "./tokens.js";

/** Audio files up to this size are sent whole (see #download). */
const SEND_WHOLE = 8 * 1024 * 1024;

/** Fault knobs for reliability tests. */
export class LongTextFaults {
  /** The next tasks fail with these codes once they run. */
  readonly failNext: Array<{ code: number; message: string }> = [];
  /** The next POSTs are answered with these errors instead of a task id. */
  readonly failSubmit: Array<{ status: number; code: number; message: string }> = [];
  /** The next status queries (GET) are answered with these errors, whatever the task's state. */
  readonly failStatus: Array<{ status: number; code: number; message: string }> = [];
  /** Callbacks to swallow (count). */
  dropCallbacks = 0;
  /** Extra deliveries of each callback, sent at once. */
  duplicateCallbacks = 0;
  delayCallbackMs = 0;
  /** Hold this many callbacks, then deliver them newest first (callbacks reordered), one after another. */
  holdCallbacks = 0;
  /** Audio downloads to cut short (count): the full Content-Length announced, half the bytes sent, the socket closed. */
  cutDownloads = 0;
  /** Audio spoiled as a lossy provider would: a sentence left out, cut short, padded with silence. */
  readonly synthesis = new SynthesisFaults();
}

interface Task {
  readonly id: string;
  readonly appKey: string;
  state: "QUEUEING" | "RUNNING" | "SUCCESS" | "FAILED";
  audioFile?: string;
  audioAddress?: string;
  sentences?: Sentence[];
  failure?: { code: number; message: string };
  finishedAt?: number;
  /** What was asked, kept so a restarted emulator can finish a task it had not finished (as NLS would). */
  request?: { tts: TtsRequest; notifyUrl?: string };
}

export interface LongTextOptions {
  readonly engine: SpeechSource;
  readonly tokens: TokenRegistry;
  readonly appKeys: ReadonlyMap<string, string>;
  readonly dataDir: string;
  /** Base URL audio is served from, e.g. http://127.0.0.1:9102 */
  readonly publicUrl: () => string;
  readonly queueMs?: number;
  readonly runMs?: number;
  readonly retentionMs?: number;
  readonly now?: () => number;
  /** The account's quota for long-text tasks (unfinished at once, submitted a second): over it, 40000005. */
  readonly quota?: QuotaGate;
}

export class LongTextService {
  readonly faults = new LongTextFaults();
  readonly stats = { submitted: 0, callbacks: 0, audioDownloads: 0 };
  readonly #tasks = new Map<string, Task>();
  readonly #pending = new PendingWork();
  readonly #held: Array<() => Promise<void>> = [];
  /** The data directory's subdirectories, each made once. */
  readonly #dirs = new Map<string, Promise<unknown>>();
  /** Set when the emulator is stopped as a crash would stop it: tasks under way stop where they are. */
  #abandoned = false;

  constructor(private readonly opts: LongTextOptions) {}

  #taskFile(id: string): string {
    return join(this.opts.dataDir, "nls-tasks", `${id}.json`);
  }

  #dir(name: string): Promise<unknown> {
    const made =
      this.#dirs.get(name) ??
      mkdir(join(this.opts.dataDir, name), { recursive: true }).catch((error: unknown) => {
        this.#dirs.delete(name); // a failed attempt is not kept: the next save tries again
        throw error;
      });
    this.#dirs.set(name, made);
    return made;
  }

  /** Tasks are kept on disk as NLS keeps them: a restart answers for every task and finishes the unfinished ones. */
  async #save(task: Task): Promise<void> {
    if (this.#abandoned) return;
    await this.#dir("nls-tasks");
    // One small file, written in one synchronous call (cheaper than its round trips through the thread pool), then
    // renamed over the old one: a process killed mid-write leaves the old file whole, never an empty one.
    const file = this.#taskFile(task.id);
    writeFileSync(`${file}.tmp`, JSON.stringify(task));
    renameSync(`${file}.tmp`, file);
  }

  /** Loads the tasks a previous run kept, serving their audio at this run's address and resuming the unfinished. */
  async restore(): Promise<number> {
    let names: string[] = [];
    try {
      names = await readdir(join(this.opts.dataDir, "nls-tasks"));
    } catch {
      return 0;
    }
    for (const name of names.filter((n) => n.endsWith(".json"))) {
      let task: Task;
      try {
        task = JSON.parse(await readFile(join(this.opts.dataDir, "nls-tasks", name), "utf8")) as Task;
      } catch {
        // A file an earlier version left half-written: that task is lost, as a crashed service loses one; the start
        // goes on (it used to fail every later start with "Unexpected end of JSON input").
        continue;
      }
      if (task.audioFile && task.request)
        task.audioAddress = `${this.opts.publicUrl()}/nls-audio/${task.id}.${task.request.tts.format}`;
      this.#tasks.set(task.id, task);
      if ((task.state === "QUEUEING" || task.state === "RUNNING") && task.request)
        this.#start(task, task.request.tts, task.request.notifyUrl);
    }
    return names.length;
  }

  /** Stops as a crash would: nothing more is written or called back; what was kept on disk stays. */
  abandon(): void {
    this.#abandoned = true;
  }

  /** Handles the REST API and audio downloads; false when the path is not ours. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? "/", "http://local");
    if (url.pathname === "/rest/v1/tts/async") {
      // The emulator's own failure answers that request as NLS answers a server error, and ends nothing else.
      (req.method === "POST"
        ? this.#submit(req, res)
        : req.method === "GET"
          ? this.#get(url, res)
          : Promise.resolve(fail(res, 405, 40000000, "method not allowed"))
      ).catch(() => (res.headersSent ? res.destroy() : fail(res, 500, 50000000, "GRPC_ERROR:Grpc error!")));
      return true;
    }
    const audio = /^\/nls-audio\/([0-9a-f]{32})\.(pcm|wav|mp3)$/.exec(url.pathname);
    if (audio) {
      // The download's own failure (its file gone under it, say) ends that response, never the emulator.
      this.#download(audio[1]!, req, res).catch(() => res.destroy());
      return true;
    }
    return false;
  }

  async #submit(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: unknown;
    try {
      body = JSON.parse((await readBody(req, 2 * 1024 * 1024)).toString("utf8"));
    } catch {
      return fail(res, 400, 40000002, "Gateway:MESSAGE_INVALID:Request json illegal, failed to parse request.");
    }
    const header = (body as { header?: { appkey?: unknown; token?: unknown } })?.header;
    const token = this.opts.tokens.check(String(header?.token ?? ""));
    if (!token.ok)
      return fail(
        res,
        400,
        40000001,
        token.reason === "expired"
          ? `Meta:ACCESS_DENIED:The token '${String(header?.token)}' has expired!`
          : `Meta:ACCESS_DENIED:The token '${String(header?.token)}' is invalid!`,
      );
    const owner = this.opts.appKeys.get(String(header?.appkey ?? ""));
    if (owner === undefined) return fail(res, 400, 40020105, "Meta:APPKEY_NOT_EXIST:Appkey not exist!");
    if (owner !== token.token.userId)
      return fail(res, 400, 40020106, "Meta:APPKEY_UID_MISMATCH:Appkey and user mismatch!");
    const refused = this.faults.failSubmit.shift();
    if (refused) return fail(res, refused.status, refused.code, refused.message);
    const checked = checkLongTextRequest(body);
    if ("problem" in checked) return fail(res, 400, 40000003, `PARAMETER_INVALID:${checked.problem}`);
    const { tts, notify, notifyUrl } = checked;
    const voice = findNlsVoice(tts.voice);
    if (!voice) return fail(res, 400, 41020001, "TTS:TtsClientError:[tts]Engine return error code: 418");
    if (spokenText(tts.text).trim() === "")
      return fail(res, 400, 40010003, "Gateway:DIRECTIVE_INVALID:No text specified!");
    if (countNlsChars(tts.text) > LONG_TEXT_LIMIT)
      return fail(res, 400, 40000003, `PARAMETER_INVALID:text is longer than ${LONG_TEXT_LIMIT} characters`);
    if (looksLikeSsml(tts.text) && validateSsml(tts.text, { flavor: "nls", emotions: voice.emotions }).length > 0)
      return fail(res, 400, 41020001, "TTS:TtsClientError:[tts]Engine return error code: 413");
    if (notify) {
      if (!notifyUrl || !URL.canParse(notifyUrl))
        return fail(res, 400, 40000003, "PARAMETER_INVALID:notify_url is required when enable_notify is true");
      if (isIpHost(new URL(notifyUrl).hostname))
        return fail(res, 400, 40000003, "PARAMETER_INVALID:notify_url host must not be an IP address");
    }
    // Seed 003's 40000005, "请求数量过多": over the account's concurrency or requests a second. The HTTP status beside
    // it is not documented; 429 is this emulator's choice.
    const admitted = this.opts.quota ? this.opts.quota.admit() : { end: () => undefined };
    if (!admitted) return fail(res, 429, 40000005, "Gateway:TOO_MANY_REQUESTS:Too many requests!");
    const task: Task = {
      id: randomBytes(16).toString("hex"),
      appKey: String(header?.appkey),
      state: "QUEUEING",
      request: { tts, ...(notify && notifyUrl ? { notifyUrl } : {}) },
    };
    this.#tasks.set(task.id, task);
    try {
      await this.#save(task);
    } catch (error) {
      admitted.end();
      throw error;
    }
    this.stats.submitted++;
    this.#start(task, tts, notify ? notifyUrl : undefined, admitted);
    sendJson(
      res,
      200,
      {
        status: 200,
        error_code: 20000000,
        error_message: "SUCCESS",
        request_id: randomUUID().replace(/-/g, ""),
        data: { task_id: task.id },
      },
      { "x-nls-requestid": task.id },
    );
  }

  /**
   * Runs a task in the background, with its error boundary: an emulator fault of its own (its files, its engine)
   * fails the task as NLS reports a server error (50000000, which the pipeline retries), never the process.
   */
  #start(task: Task, tts: TtsRequest, notifyUrl: string | undefined, admitted?: QuotaTicket): void {
    this.#pending.track(
      this.#run(task, tts, notifyUrl, admitted)
        .catch(async (error: Error) => {
          if (this.#abandoned) return;
          task.state = "FAILED";
          task.failure = { code: 50000000, message: `GRPC_ERROR:Grpc error! (emulator: ${error.message})` };
          task.finishedAt = this.#now();
          await this.#save(task).catch(() => undefined);
          await this.#notify(task, notifyUrl).catch(() => undefined);
        })
        .finally(() => admitted?.end()),
    );
  }

  /** `admitted`: the task's place in the quota, given back as soon as it has ended (before its callback). */
  async #run(task: Task, tts: TtsRequest, notifyUrl: string | undefined, admitted?: QuotaTicket): Promise<void> {
    await sleep(this.opts.queueMs ?? 50);
    if (this.#abandoned) return;
    task.state = "RUNNING";
    await this.#save(task);
    const injected = this.faults.failNext.shift();
    if (injected) {
      await sleep(this.opts.runMs ?? 50);
      task.state = "FAILED";
      task.failure = injected;
      await this.#save(task);
      admitted?.end();
      return this.#notify(task, notifyUrl);
    }
    const voice = findNlsVoice(tts.voice)!;
    let text = tts.text;
    const spans = sentenceSpans(text);
    if (this.faults.synthesis.choose("dropSentence", tts.text, spans.length >= 2))
      text = text.slice(0, spans[1]!.start) + text.slice(spans[1]!.end);
    const { audio, sentences } = await synthesizeLong(this.opts.engine, {
      text,
      sampleRate: tts.sample_rate,
      format: tts.format,
      volume: tts.volume,
      speechRate: tts.speech_rate,
      pitchRate: tts.pitch_rate,
      male: / male/i.test(voice.type),
    });
    await sleep(this.opts.runMs ?? 50);
    if (this.#abandoned) return;
    await this.#dir("nls-audio");
    task.audioFile = join(this.opts.dataDir, "nls-audio", `${task.id}.${tts.format}`);
    let written: readonly Buffer[] = [...audio];
    let timed = sentences;
    if (this.faults.synthesis.choose("truncate", tts.text)) {
      const whole = Buffer.concat(written);
      written = [whole.subarray(0, Math.ceil(whole.length / 5))];
    }
    if (this.faults.synthesis.choose("pad", tts.text)) {
      written = padWithSilence(written, tts.format, tts.sample_rate, PAD_MS);
      timed = sentences.map((s) => ({ ...s, begin_time: s.begin_time + PAD_MS, end_time: s.end_time + PAD_MS }));
    }
    const out = await open(task.audioFile, "w");
    try {
      await out.writev([...written]);
    } finally {
      await out.close();
    }
    task.audioAddress = `${this.opts.publicUrl()}/nls-audio/${task.id}.${tts.format}`;
    task.sentences = tts.enable_subtitle ? timed : undefined;
    task.state = "SUCCESS";
    task.finishedAt = this.#now();
    await this.#save(task);
    admitted?.end();
    await this.#notify(task, notifyUrl);
  }

  async #notify(task: Task, notifyUrl: string | undefined): Promise<void> {
    if (!notifyUrl || this.#abandoned) return;
    if (this.faults.dropCallbacks > 0) {
      this.faults.dropCallbacks--;
      return;
    }
    if (this.faults.delayCallbackMs > 0) await sleep(this.faults.delayCallbackMs);
    const code = task.failure?.code ?? 20000000;
    const body = JSON.stringify({
      data: { audio_address: task.audioAddress ?? null, task_id: task.id },
      request_id: randomUUID().replace(/-/g, ""),
      status: code,
      error_code: code,
      error_message: task.failure?.message ?? "SUCCESS",
    });
    const copies = 1 + this.faults.duplicateCallbacks;
    const deliver = async (): Promise<void> => {
      await Promise.all(
        Array.from({ length: copies }, async () => {
          this.stats.callbacks++;
          // Through node:http: undici's fetch cost about 0.9 ms more CPU per callback (1.3 against 0.44 ms, both ends).
          await requestText(notifyUrl, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body,
            timeoutMs: 30_000,
          }).catch(() => undefined);
        }),
      );
    };
    if (this.faults.holdCallbacks === 0) return deliver();
    // Held callbacks are not awaited by their task (idle() must not wait on them); the last one delivers them all.
    this.#held.push(deliver);
    if (this.#held.length < this.faults.holdCallbacks) return;
    this.faults.holdCallbacks = 0;
    for (const held of this.#held.splice(0).reverse()) await held();
  }

  async #get(url: URL, res: ServerResponse): Promise<void> {
    const injected = this.faults.failStatus.shift();
    if (injected) return fail(res, injected.status, injected.code, injected.message);
    const token = this.opts.tokens.check(url.searchParams.get("token") ?? "");
    if (!token.ok)
      return fail(
        res,
        400,
        40000001,
        `Meta:ACCESS_DENIED:The token '${url.searchParams.get("token")}' is ${token.reason === "expired" ? "expired" : "invalid"}!`,
      );
    const task = this.#tasks.get(url.searchParams.get("task_id") ?? "");
    if (!task || task.appKey !== url.searchParams.get("appkey"))
      return fail(res, 400, 40000003, "PARAMETER_INVALID:task_id not found");
    const requestId = randomUUID().replace(/-/g, "");
    if (task.state === "FAILED") return fail(res, 400, task.failure!.code, task.failure!.message, task.id);
    if (task.state !== "SUCCESS") {
      const [code, message] = task.state === "QUEUEING" ? [21050002, "QUEUEING"] : [21050001, "RUNNING"];
      return sendJson(res, 200, {
        status: 200,
        error_code: code,
        error_message: message,
        request_id: requestId,
        data: { task_id: task.id, audio_address: null, notify_custom: null },
      });
    }
    const data = {
      ...(task.sentences
        ? {
            sentences: task.sentences.map((s) => ({
              text: s.text,
              begin_time: String(s.begin_time),
              end_time: String(s.end_time),
            })),
          }
        : {}),
      task_id: task.id,
      audio_address: task.audioAddress,
      notify_custom: "",
    };
    sendJson(res, 200, { status: 200, error_code: 20000000, error_message: "SUCCESS", request_id: requestId, data });
  }

  async #download(id: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const task = this.#tasks.get(id);
    const expired =
      task?.finishedAt !== undefined && this.#now() - task.finishedAt > (this.opts.retentionMs ?? 7 * 24 * 3600_000);
    if (!task?.audioFile || expired) {
      if (expired && task?.audioFile) await rm(task.audioFile, { force: true });
      res.writeHead(404, { "content-type": "application/xml" }).end("<Error><Code>NoSuchKey</Code></Error>");
      return;
    }
    this.stats.audioDownloads++;
    const { size } = await stat(task.audioFile);
    const type = task.audioFile.endsWith(".mp3")
      ? "audio/mpeg"
      : task.audioFile.endsWith(".wav")
        ? "audio/wav"
        : "application/octet-stream";
    res.writeHead(200, { "content-type": type, "content-length": size });
    if (req.method === "HEAD") return void res.end();
    if (this.faults.cutDownloads > 0) {
      this.faults.cutDownloads--;
      const half = createReadStream(task.audioFile, { end: Math.max(0, Math.floor(size / 2) - 1) });
      half.on("data", (chunk) => res.write(chunk));
      half.on("end", () => res.socket?.destroy());
      return;
    }
    // Audio up to 8 MiB (a 5,000-character task is about 1.2 MB of MP3) is read in one call and sent in one write: a file
    // stream's 64 KiB reads each cost a trip through the thread pool and a socket write of their own.
    if (size <= SEND_WHOLE) return void res.end(readFileSync(task.audioFile));
    createReadStream(task.audioFile)
      .on("error", () => res.destroy())
      .pipe(res);
  }

  /** Fault knob: a finished task's audio file disappears from under it, as a disk fault would lose it. */
  async loseAudioFile(taskId: string): Promise<void> {
    const file = this.#tasks.get(taskId)?.audioFile;
    if (file) await rm(file, { force: true });
  }

  /** Fault knob: make a finished task's audio older than the retention period. */
  age(taskId: string, ms: number): void {
    const task = this.#tasks.get(taskId);
    if (task?.finishedAt !== undefined) task.finishedAt -= ms;
  }

  /** Resolves when every task and callback under way (tests and shutdown) has finished; true when there was any. */
  idle(): Promise<boolean> {
    return this.#pending.idle();
  }

  #now(): number {
    return this.opts.now?.() ?? Date.now();
  }
}

function fail(res: ServerResponse, status: number, code: number, message: string, taskId?: string): void {
  sendJson(res, status, {
    error_message: message,
    error_code: code,
    request_id: randomUUID().replace(/-/g, ""),
    url: "/rest/v1/tts/async",
    status,
    ...(taskId ? { data: { task_id: taskId } } : {}),
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
