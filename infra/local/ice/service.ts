/**
 * The ICE emulator (seed 002, facts §7): SubmitAudioProduceJob and GetSmartHandleJob behind a POP RPC endpoint.
 * Jobs go Created → Executing → Finished | Failed; the audio is written into the OSS emulator at OutputConfig's
 * bucket/object plus the format's extension; the callback goes to UserData.NotifyAddress in ICE's event envelope,
 * signed with X-ICE-TIMESTAMP / X-ICE-SIGNATURE = md5(url|timestamp|AuthKey) when an auth key is configured.
 */
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import {
  ICE_DESCRIPTION_BYTES,
  ICE_TEXT_LIMIT,
  ICE_TITLE_BYTES,
  ICE_USER_DATA_BYTES,
} from "../../../lib/providers/ice/client.js";
import { countNlsChars, looksLikeSsml, spokenText, validateSsml } from "../../../lib/text/index.js";
import { findNlsVoice } from "../../../lib/voices/index.js";
import { type SpeechSource, synthesizeLong } from "../audio/engine.js";
import type { BucketFiles } from "../oss/bucket-files.js";
import { PendingWork } from "../pending.js";
import { RpcFault, type RpcHandler } from "../pop/server.js";
import type { QuotaGate } from "../quota.js";
import { checkEditingConfig, checkOutputConfig } from "./config-wire.js";

export class IceFaults {
  /** ErrorCode/ErrorMessage the next jobs fail with. */
  readonly failNext: Array<{ code: string; message: string }> = [];
  dropCallbacks = 0;
  duplicateCallbacks = 0;
}

interface IceJob {
  /** Its place in the account's quota while it is unfinished. */
  quota?: { end(): void };
  readonly id: string;
  readonly userId: string;
  readonly title: string;
  readonly input: string;
  readonly editing: string;
  readonly output: { bucket: string; object: string };
  readonly userData?: string;
  state: "Created" | "Executing" | "Finished" | "Failed";
  mediaId: string;
  aiResult?: string;
  error?: { code: string; message: string };
  createdAt: string;
  modifiedAt: string;
}

export interface IceOptions {
  readonly engine: SpeechSource;
  readonly oss: BucketFiles;
  /** SetEventCallback's AuthKey; when set, callbacks carry X-ICE-TIMESTAMP and X-ICE-SIGNATURE. */
  readonly authKey?: string;
  readonly createdMs?: number;
  readonly now?: () => number;
  /** The account's quota for audio jobs (unfinished at once, submitted a second): over it, POP's Throttling.User. */
  readonly quota?: QuotaGate;
}

const bytes = (s: string): number => Buffer.byteLength(s, "utf8");
const invalid = (message: string): RpcFault => new RpcFault(400, "InvalidParameter", message);

export class IceService {
  readonly faults = new IceFaults();
  readonly stats = { submitted: 0, callbacks: 0 };
  readonly #jobs = new Map<string, IceJob>();
  readonly #pending = new PendingWork();

  constructor(private readonly opts: IceOptions) {}

  actions(): Record<string, RpcHandler> {
    return {
      SubmitAudioProduceJob: ({ params, userId }) => this.#submit(params, userId),
      GetSmartHandleJob: ({ params, userId }) => this.#get(params, userId),
    };
  }

  #submit(p: Record<string, string>, userId: string): Record<string, unknown> {
    for (const name of ["EditingConfig", "OutputConfig", "InputConfig"])
      if (!p[name])
        throw new RpcFault(
          400,
          "MissingParameter",
          `The input parameter "${name}" that is mandatory for processing this request is not supplied.`,
        );
    const editing = checkEditingConfig(p.EditingConfig!);
    if ("problem" in editing) throw invalid(`The specified parameter "EditingConfig" is not valid: ${editing.problem}`);
    const output = checkOutputConfig(p.OutputConfig!);
    if (!output) throw invalid('The specified parameter "OutputConfig" is not valid: it needs "bucket" and "object".');
    if (!this.opts.oss.hasBucket(output.bucket))
      throw new RpcFault(404, "InvalidOutputConfig.BucketNotFound", `The bucket ${output.bucket} does not exist.`);
    const voiceName = editing.customizedVoice ? undefined : (editing.voice ?? "xiaoyun").toLowerCase();
    if (voiceName && !findNlsVoice(voiceName))
      throw invalid(`The specified voice "${editing.voice}" is not supported.`);
    if (countNlsChars(p.InputConfig!) > ICE_TEXT_LIMIT)
      throw invalid(`The specified parameter "InputConfig" is longer than ${ICE_TEXT_LIMIT} characters.`);
    if (spokenText(p.InputConfig!).trim() === "") throw invalid('The specified parameter "InputConfig" is empty.');
    if (
      looksLikeSsml(p.InputConfig!) &&
      validateSsml(p.InputConfig!, {
        flavor: "nls",
        emotions: voiceName ? findNlsVoice(voiceName)?.emotions : undefined,
      }).length > 0
    )
      throw invalid('The specified parameter "InputConfig" is not valid SSML.');
    if (p.Title !== undefined && bytes(p.Title) > ICE_TITLE_BYTES)
      throw invalid(`The specified parameter "Title" is longer than ${ICE_TITLE_BYTES} bytes.`);
    if (p.Description !== undefined && bytes(p.Description) > ICE_DESCRIPTION_BYTES)
      throw invalid(`The specified parameter "Description" is longer than ${ICE_DESCRIPTION_BYTES} bytes.`);
    if (p.UserData !== undefined && (bytes(p.UserData) > ICE_USER_DATA_BYTES || parseJson(p.UserData) === undefined))
      throw invalid(`The specified parameter "UserData" must be JSON of at most ${ICE_USER_DATA_BYTES} bytes.`);
    // POP's flow control answers every API alike: HTTP 400, Throttling.User (docs/sources.md, "POP throttling").
    const admitted = this.opts.quota ? this.opts.quota.admit() : { end: () => undefined };
    if (!admitted) throw new RpcFault(400, "Throttling.User", "Request was denied due to user flow control.");
    const now = new Date(this.#now()).toISOString().replace(/\.\d+Z$/, "Z");
    const job: IceJob = {
      id: randomBytes(16).toString("hex"),
      userId,
      title: p.Title ?? `default_title_${now}`,
      input: p.InputConfig!,
      editing: p.EditingConfig!,
      output,
      userData: p.UserData,
      state: "Created",
      mediaId: randomBytes(16).toString("hex"),
      createdAt: now,
      modifiedAt: now,
    };
    job.quota = admitted;
    this.#jobs.set(job.id, job);
    this.stats.submitted++;
    // The error boundary of the job's run: the emulator's own fault fails the job (its state and callback say so),
    // never the process.
    this.#pending.track(
      this.#run(job, p.Overwrite !== "false")
        .catch((error: Error) =>
          this.#finish(job, {
            code: "InternalError",
            message: `The request processing has failed due to some unknown error. (emulator: ${error.message})`,
          }).catch(() => undefined),
        )
        .finally(() => admitted.end()), // (its place is given back in #finish; this covers a run that never gets there)
    );
    return { JobId: job.id, MediaId: job.mediaId, State: job.state };
  }

  async #run(job: IceJob, overwrite: boolean): Promise<void> {
    await sleep(this.opts.createdMs ?? 20);
    job.state = "Executing";
    const editing = checkEditingConfig(job.editing);
    if ("problem" in editing) throw new Error(`a stored job's EditingConfig ${editing.problem}`);
    const format = editing.format;
    const key = `${job.output.object}.${format}`;
    const injected = this.faults.failNext.shift();
    if (injected) return this.#finish(job, injected);
    if (!overwrite && this.opts.oss.head(job.output.bucket, key))
      return this.#finish(job, {
        code: "OutputFileExists",
        message: `The output object ${key} exists and Overwrite is false.`,
      });
    const voice = findNlsVoice((editing.voice ?? "xiaoyun").toLowerCase());
    const sampleRate = editing.sampleRate ?? 16000;
    const { audio, sentences } = await synthesizeLong(this.opts.engine, {
      text: job.input,
      sampleRate,
      format,
      volume: editing.volume,
      speechRate: editing.speechRate,
      pitchRate: editing.pitchRate,
      male: / male/i.test(voice?.type ?? ""),
    });
    await this.opts.oss.put(job.output.bucket, key, Readable.from(audio), {
      contentType: format === "mp3" ? "audio/mpeg" : format === "wav" ? "audio/wav" : "application/octet-stream",
      userMeta: {},
      forbidOverwrite: false,
    });
    job.aiResult = JSON.stringify(sentences);
    await this.#finish(job);
  }

  async #finish(job: IceJob, error?: { code: string; message: string }): Promise<void> {
    job.state = error ? "Failed" : "Finished";
    job.quota?.end(); // before the callback: a client told the job ended may submit the next at once
    job.error = error;
    job.modifiedAt = new Date(this.#now()).toISOString().replace(/\.\d+Z$/, "Z");
    const notify = (parseJson(job.userData ?? "") as { NotifyAddress?: string } | undefined)?.NotifyAddress;
    if (!notify || !/^https?:\/\//.test(notify)) return;
    if (this.faults.dropCallbacks > 0) {
      this.faults.dropCallbacks--;
      return;
    }
    // facts §7 [U]: the event name and body of a finished smart job are not documented; the envelope is.
    const body = JSON.stringify({
      EventType: "AIGCAudioProduceComplete",
      UserId: Number(job.userId),
      EventTime: job.modifiedAt,
      MessageBody: {
        JobId: job.id,
        Status: job.state === "Finished" ? "Success" : "Fail",
        MediaId: job.mediaId,
        ...(error ? { ErrorCode: error.code, ErrorMessage: error.message } : {}),
      },
    });
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.opts.authKey) {
      const timestamp = String(Math.floor(this.#now() / 1000));
      headers["x-ice-timestamp"] = timestamp;
      headers["x-ice-signature"] = createHash("md5")
        .update(`${notify}|${timestamp}|${this.opts.authKey}`)
        .digest("hex");
    }
    await Promise.all(
      Array.from({ length: 1 + this.faults.duplicateCallbacks }, async () => {
        this.stats.callbacks++;
        await fetch(notify, { method: "POST", headers, body })
          .then((r) => r.arrayBuffer())
          .catch(() => undefined);
      }),
    );
  }

  #get(p: Record<string, string>, userId: string): Record<string, unknown> {
    const job = this.#jobs.get(p.JobId ?? "");
    if (!job || job.userId !== userId)
      throw new RpcFault(404, "InvalidParameter.JobNotFound", `The job ${p.JobId} does not exist.`);
    return {
      JobId: job.id,
      State: job.state,
      ...(job.error ? { ErrorCode: job.error.code, ErrorMessage: job.error.message } : {}),
      ...(job.userData ? { UserData: job.userData } : {}),
      SmartJobInfo: {
        Title: job.title,
        JobType: "TextToSpeech",
        CreateTime: job.createdAt,
        ModifiedTime: job.modifiedAt,
        InputConfig: { InputFile: job.input },
        EditingConfig: job.editing,
        OutputConfig: { Bucket: job.output.bucket, Object: job.output.object },
      },
      ...(job.state === "Finished" ? { JobResult: { MediaId: job.mediaId, AiResult: job.aiResult } } : {}),
    };
  }

  /** Resolves when every job (and its callbacks) has finished; true when there was any. */
  idle(): Promise<boolean> {
    return this.#pending.idle();
  }

  #now(): number {
    return this.opts.now?.() ?? Date.now();
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
