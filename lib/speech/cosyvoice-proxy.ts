/**
 * The DashScope-compatible WebSocket endpoint (`/api-ws/v1/inference`) for CosyVoice: a client speaks seed 001's
 * protocol with one of our API keys; the proxy validates every command before it reaches DashScope (model, voice,
 * parameters, the 20,000 / 200,000 character limits, SSML, one continue-task with enable_ssml), then relays the
 * commands upstream with the real key and the events back.
 */
import WebSocket from "ws";
import { contentAddress, type OutputLabel, outputLabel } from "../audio/aigc-label.js";
import { labelFirstChunk } from "../audio/label-container.js";
import type { Lease } from "../budget/account-budget.js";
import { AppError } from "../errors.js";
import { guarded } from "../http/boundary.js";
import type { Logger } from "../log.js";
import { COSYVOICE_MESSAGE_LIMIT, COSYVOICE_TASK_LIMIT } from "../providers/dashscope/cosyvoice.js";
import { ContinueTaskSchema, RunTaskSchema } from "../providers/dashscope/messages.js";
import { scrubSecrets } from "../secrets.js";
import { countCosyVoiceChars, validateSsml } from "../text/index.js";
import { checkCosyVoice, checkCosyVoiceInstruction } from "../voices/cosyvoice.js";

export interface CosyVoiceProxyOptions {
  /** Upstream endpoint and key; absent when this deployment has no DashScope key. */
  readonly upstream?: { readonly url: string; readonly apiKey: string; readonly workspace?: string };
  readonly extraVoices?: readonly string[];
  readonly log: Logger;
  /** Pause the upstream while this many bytes wait to reach a slow client. */
  readonly highWaterMark?: number;
  /** Close a session in which neither side has said anything for this long. */
  readonly idleTimeoutMs?: number;
  /** Close a client that has left audio unread above the high-water mark for this long. */
  readonly stallTimeoutMs?: number;
  /** Who the AI-generated-content label names as the service provider (AIGC_PROVIDER_NAME). */
  readonly aigcProducer?: string;
  /** A task's lease from the account's budget, taken before its run-task goes upstream (AppError 429 past it). */
  readonly lease?: () => Promise<Lease>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

interface TaskState {
  readonly id: string;
  readonly ssml: boolean;
  readonly sampleRate: number;
  continues: number;
  characters: number;
  /** The label the task's audio carries in its first binary frame, until that frame has gone. */
  label?: { readonly format: string; readonly value: OutputLabel };
  /** Its lease from the account's budget, given back when the task ends, fails or the client goes. */
  lease?: Lease;
}

/** Gives a task's lease back (once; a lapsed or failed delete only leaves it to lapse). */
function release(task: TaskState | undefined): void {
  const lease = task?.lease;
  if (task) task.lease = undefined;
  void lease?.give().catch(() => undefined);
}

export function serveCosyVoiceProxy(client: WebSocket, opts: CosyVoiceProxyOptions): void {
  let upstream: WebSocket | undefined;
  let task: TaskState | undefined;
  let waiting = 0;
  const highWaterMark = opts.highWaterMark ?? 1024 * 1024;
  const stallTimeoutMs = opts.stallTimeoutMs ?? 30_000;
  const idleTimeoutMs = opts.idleTimeoutMs ?? 60_000;
  const outbox: string[] = [];
  /** A task's messages held while its lease is asked for (its run-task first). */
  let held: string[] | undefined;
  let stalled: NodeJS.Timeout | undefined;
  let idle: NodeJS.Timeout | undefined;
  const touch = (): void => {
    clearTimeout(idle);
    idle = setTimeout(
      guarded(opts.log, "cosyvoice proxy idle timer", () => {
        if (task) fail(task.id, "ResponseTimeout", `No message for ${idleTimeoutMs / 1000} s; the session is closed.`);
        client.close(1000);
      }),
      idleTimeoutMs,
    );
  };

  const toClient = (data: Buffer | string, binary: boolean): void => {
    if (client.readyState !== WebSocket.OPEN) return;
    touch();
    // The audio carries its AI-generated-content label as every output does: in the task's first binary frame.
    if (binary && typeof data !== "string" && task?.label) {
      data = labelFirstChunk(task.label.format, data, task.label.value);
      task.label = undefined;
    }
    const size = typeof data === "string" ? Buffer.byteLength(data) : data.length;
    waiting += size;
    if (waiting > highWaterMark && upstream && !upstream.isPaused) {
      upstream.pause();
      stalled ??= setTimeout(
        guarded(opts.log, "cosyvoice proxy stall timer", () => {
          opts.log.warn("client stopped reading; closing", { stallTimeoutMs });
          client.terminate();
        }),
        stallTimeoutMs,
      );
    }
    client.send(data, { binary }, () => {
      waiting -= size;
      if (waiting <= highWaterMark / 2 && upstream?.isPaused) upstream.resume();
      if (waiting <= highWaterMark / 2) {
        clearTimeout(stalled);
        stalled = undefined;
      }
    });
  };
  /** Closes the upstream without its close reaching the client: we replaced or failed it on purpose. */
  const dropUpstream = (): void => {
    const old = upstream;
    upstream = undefined;
    outbox.length = 0;
    if (!old) return;
    old.removeAllListeners();
    old.on("error", () => undefined);
    old.terminate();
  };
  const fail = (taskId: string, code: string, message: string): void => {
    toClient(
      JSON.stringify({
        header: { task_id: taskId, event: "task-failed", error_code: code, error_message: message, attributes: {} },
        payload: {},
      }),
      false,
    );
    release(task);
    task = undefined;
    held = undefined;
    dropUpstream();
  };
  const forward = (text: string): void => {
    if (held) held.push(text);
    else if (upstream?.readyState === WebSocket.OPEN) upstream.send(text);
    else outbox.push(text);
  };
  /** Sends the task upstream once it holds its lease: on the idle connection it may reuse, or a new one. */
  const start = (idleUpstream: WebSocket | undefined, target: NonNullable<CosyVoiceProxyOptions["upstream"]>): void => {
    const messages = held ?? [];
    held = undefined;
    if (idleUpstream && upstream === idleUpstream && idleUpstream.readyState === WebSocket.OPEN) {
      for (const m of messages) idleUpstream.send(m);
      return;
    }
    dropUpstream();
    outbox.push(...messages);
    upstream = connect(
      target,
      opts.log,
      toClient,
      () => {
        for (const queued of outbox.splice(0)) upstream?.send(queued);
      },
      (reason) => {
        if (task) fail(task.id, "ConnectionClosed", reason);
        else if (client.readyState === WebSocket.OPEN) client.close(1000);
      },
      () => {
        release(task);
        task = undefined;
      },
    );
  };

  const onMessage = (data: Buffer, isBinary: boolean): void => {
    touch();
    if (isBinary) return fail(task?.id ?? "", "InvalidParameter", "Binary messages are not expected.");
    const text = data.toString("utf8");
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return fail(task?.id ?? "", "InvalidParameter", "Request json illegal, failed to parse request.");
    }
    const header = isRecord(message) && isRecord(message.header) ? message.header : undefined;
    if (!header)
      return fail(task?.id ?? "", "InvalidParameter", "Request json illegal: a JSON object with a header is expected.");
    const taskId = typeof header.task_id === "string" && header.task_id.length <= 128 ? header.task_id : "";
    const action = header.action;
    if (action === "run-task") {
      const parsed = RunTaskSchema.safeParse(message);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        return fail(taskId, "InvalidParameter", `${issue.path.slice(1).join(".")}: ${issue.message}`);
      }
      const { model, parameters } = parsed.data.payload;
      try {
        checkCosyVoice(model, parameters.voice, opts.extraVoices);
        if (parameters.instruction !== undefined) checkCosyVoiceInstruction(model, "parameters.instruction");
      } catch (error) {
        return fail(taskId, "InvalidParameter", (error as Error).message);
      }
      if (!opts.upstream) return fail(taskId, "InvalidParameter", "CosyVoice is not configured on this deployment.");
      const idleUpstream = !task && upstream?.readyState === WebSocket.OPEN ? upstream : undefined;
      task = {
        id: taskId,
        ssml: parameters.enable_ssml,
        sampleRate: parameters.sample_rate,
        continues: 0,
        characters: 0,
        label: {
          format: parameters.format,
          value: outputLabel({
            producer: opts.aigcProducer,
            contentId: contentAddress(text),
            synthesis: { provider: "cosyvoice", model, voice: parameters.voice },
          }),
        },
      };
      // A connection is reusable after task-finished (the SDK's pool keeps it, close_ws_after_use=False): so is ours.
      // Nothing goes upstream before the task holds its lease; what the client sends meanwhile waits with the run-task.
      const current = task;
      const target = opts.upstream;
      held = [text];
      if (!opts.lease) return start(idleUpstream, target);
      opts.lease().then(
        (lease) => {
          if (task !== current || client.readyState !== WebSocket.OPEN) return void lease.give().catch(() => undefined);
          current.lease = lease;
          start(idleUpstream, target);
        },
        (error: unknown) => {
          if (task !== current) return;
          // Past the account's budget: DashScope's own code for it, with when to try again; no task was started.
          if (error instanceof AppError && error.code === "ProviderBudgetSpent")
            return fail(taskId, "Throttling.RateQuota", error.message);
          opts.log.error("cosyvoice proxy could not take a lease", { error });
          fail(taskId, "InternalError", "internal error");
        },
      );
      return;
    }
    if (!task || task.id !== taskId)
      return fail(taskId, "InvalidParameter", `No running task ${taskId.slice(0, 64)}; send run-task first.`);
    if (action === "continue-task") {
      const parsed = ContinueTaskSchema.safeParse(message);
      if (!parsed.success)
        return fail(
          taskId,
          "InvalidParameter",
          "continue-task needs payload.input.text (or payload.input.flush: true).",
        );
      const input = parsed.data.payload.input.text;
      // A flush (the SDK's streaming_flush) carries no text: nothing to count or check, DashScope takes it as it is.
      if (input === undefined) return forward(text);
      task.continues++;
      if (task.ssml && task.continues > 1)
        return fail(taskId, "InvalidParameter", "Text request limit violated, expected 1.");
      const weight = countCosyVoiceChars(input);
      if (weight > COSYVOICE_MESSAGE_LIMIT)
        return fail(
          taskId,
          "InvalidParameter",
          `text: ${weight} characters in one continue-task; at most ${COSYVOICE_MESSAGE_LIMIT} (a Han character counts 2).`,
        );
      if (task.characters + weight > COSYVOICE_TASK_LIMIT)
        return fail(taskId, "InvalidParameter", `text: over ${COSYVOICE_TASK_LIMIT} characters in one task.`);
      task.characters += weight;
      if (task.ssml) {
        const issues = validateSsml(input, { flavor: "cosyvoice", sampleRate: task.sampleRate });
        if (issues.length > 0)
          return fail(
            taskId,
            "InvalidParameter",
            `ssml: ${issues
              .slice(0, 3)
              .map((i) => `${i.line}:${i.column} ${i.message}`)
              .join("; ")}`,
          );
      }
      return forward(text);
    }
    if (action === "finish-task") return forward(text);
    return fail(taskId, "InvalidParameter", `Unknown action '${String(action).slice(0, 64)}'.`);
  };

  touch();
  client.on("error", (error) => opts.log.debug("client socket error", { error }));
  client.on("close", () => {
    clearTimeout(idle);
    clearTimeout(stalled);
    release(task);
    dropUpstream();
  });
  client.on(
    "message",
    guarded(opts.log, "cosyvoice proxy message", onMessage, () => {
      fail(task?.id ?? "", "InternalError", "internal error");
      client.close(1011);
    }),
  );
}

function connect(
  target: NonNullable<CosyVoiceProxyOptions["upstream"]>,
  log: Logger,
  toClient: (data: Buffer | string, binary: boolean) => void,
  onOpen: () => void,
  onLost: (reason: string) => void,
  onTaskEnd: () => void,
): WebSocket {
  const headers: Record<string, string> = { authorization: `bearer ${target.apiKey}` };
  if (target.workspace) headers["X-DashScope-WorkSpace"] = target.workspace;
  const ws = new WebSocket(target.url, { headers, perMessageDeflate: false });
  let lost = false;
  const lose = (reason: string): void => {
    if (lost) return;
    lost = true;
    onLost(reason);
  };
  ws.on("open", guarded(log, "cosyvoice upstream open", onOpen));
  ws.on(
    "message",
    guarded(log, "cosyvoice upstream message", (data: Buffer, isBinary: boolean) => {
      if (isBinary) return toClient(data, true);
      const text = data.toString("utf8");
      if (/"event"\s*:\s*"(task-finished|task-failed)"/.test(text)) onTaskEnd();
      // Relayed text may quote what we sent upstream; our key never reaches the client.
      toClient(scrubSecrets(text), false);
    }),
  );
  // The upstream key is ours, so a refusal is our configuration problem, never the client's.
  ws.on("unexpected-response", (_req, res) => {
    res.resume();
    lose(`DashScope refused the connection (HTTP ${res.statusCode}).`);
  });
  ws.on("error", () => lose("DashScope connection failed."));
  ws.on("close", () => lose("DashScope closed the connection."));
  return ws;
}
