/**
 * ICE (Intelligent Media Services) text-to-speech, seed 002: SubmitAudioProduceJob writes the audio straight into the
 * user's OSS bucket; GetSmartHandleJob (the seed's "GetSmartJobResult"; facts §7) is the truth about a job.
 * POP RPC, version 2020-11-09. The JSON-string parameters (EditingConfig, OutputConfig) are built from typed objects
 * and sent as JSON text, as the API takes them.
 */
import type { CredentialsSource } from "../../credentials.js";
import { InputError, UpstreamError } from "../../errors.js";
import { type BackoffOptions, withRetry } from "../../retry.js";
import { assertValidSsml, countNlsChars, speakable } from "../../text/index.js";
import { parseInput, textXorSsml } from "../../validation.js";
import { requireNlsVoice } from "../../voices/index.js";
import * as z from "../../zod.js";
import { SentenceSchema } from "../nls/long-text.js";
import { PopRpcClient } from "../pop-rpc.js";

/** Seed 002's limits. */
export const ICE_TEXT_LIMIT = 10_000;
/**
 * How long an audio job may run before its job fails. Seed 002 promises no completion time; this is our limit, the
 * same 3 hours NLS promises for a long-text task, so a job ICE never finishes still ends (with that reason).
 */
export const ICE_JOB_DEADLINE_MS = 3 * 3600_000;
export const ICE_TITLE_BYTES = 128;
export const ICE_DESCRIPTION_BYTES = 1024;
export const ICE_USER_DATA_BYTES = 512;

/**
 * EditingConfig, as a typed object (sent as a JSON string).
 * @example {"voice":"Siqi","format":"MP3","volume":50}
 */
export const EditingConfigSchema = z.object({
  voice: z.optional(z.string()),
  /** A cloned voice's VoiceId; takes precedence over `voice`. */
  customizedVoice: z.optional(z.string()),
  format: z.enum(["MP3", "WAV", "PCM"]),
  sample_rate: z.optional(z.union([z.literal(8000), z.literal(16000), z.literal(24000), z.literal(48000)])),
  volume: z.optional(z.int().check(z.gte(0), z.lte(100))),
  speech_rate: z.optional(z.int().check(z.gte(-500), z.lte(500))),
  pitch_rate: z.optional(z.int().check(z.gte(-500), z.lte(500))),
});
export type EditingConfig = z.infer<typeof EditingConfigSchema>;

/** @example {"bucket":"my_bucket","object":"target_audio"} → my_bucket/target_audio.mp3 */
export const OutputConfigSchema = z.object({
  bucket: z.string().check(z.minLength(3)),
  object: z.string().check(z.minLength(1)),
});

/** @example {"RequestId":"…","JobId":"****20b4…","State":"Created","MediaId":"****2bcb…"} */
export const SubmitAudioProduceJobResponseSchema = z.object({
  RequestId: z.optional(z.string()),
  JobId: z.string().check(z.minLength(1)),
  State: z.optional(z.string()),
  MediaId: z.optional(z.string()),
});

export const IceJobStateSchema = z.enum(["Created", "Executing", "Finished", "Failed"]);

/** GetSmartHandleJob's answer, as the seed's sample shows it; AiResult is a JSON string of sentences. */
export const GetSmartHandleJobResponseSchema = z.object({
  RequestId: z.optional(z.string()),
  JobId: z.string(),
  State: IceJobStateSchema,
  ErrorCode: z.optional(z.string()),
  ErrorMessage: z.optional(z.string()),
  UserData: z.optional(z.string()),
  SmartJobInfo: z.optional(
    z.looseObject({
      Title: z.optional(z.string()),
      JobType: z.optional(z.string()),
      OutputConfig: z.optional(z.object({ Bucket: z.string(), Object: z.string() })),
      EditingConfig: z.optional(z.string()),
    }),
  ),
  JobResult: z.optional(
    z.looseObject({
      MediaId: z.optional(z.string()),
      MediaUrl: z.optional(z.string()),
      AiResult: z.optional(z.string()),
    }),
  ),
});

export const IceInputSchema = z
  .object({
    text: z.optional(z.string()),
    ssml: z.optional(z.string()),
    voice: z._default(z.string(), "xiaoyun"),
    customizedVoice: z.optional(
      z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, "a cloned voice's VoiceId (letters, digits, '_' or '-')")),
    ),
    format: z._default(z.enum(["mp3", "wav", "pcm"]), "mp3"),
    sampleRate: z._default(z.union([z.literal(8000), z.literal(16000), z.literal(24000), z.literal(48000)]), 16000),
    volume: z._default(z.int().check(z.gte(0), z.lte(100)), 50),
    speechRate: z._default(z.int().check(z.gte(-500), z.lte(500)), 0),
    pitchRate: z._default(z.int().check(z.gte(-500), z.lte(500)), 0),
    title: z.optional(z.string()),
    description: z.optional(z.string()),
    overwrite: z._default(z.boolean(), true),
  })
  .check(textXorSsml());
export type IceInput = z.input<typeof IceInputSchema>;

export type IceStatus =
  | { readonly state: "queued" | "running"; readonly jobId: string }
  | {
      readonly state: "success";
      readonly jobId: string;
      readonly sentences: Array<z.infer<typeof SentenceSchema>>;
      readonly mediaUrl?: string;
    };

export interface IceClientOptions {
  /** https://ice.cn-shanghai.aliyuncs.com */
  readonly endpoint: string;
  readonly credentials: CredentialsSource;
  readonly timeoutMs?: number;
  /** Backoff for transient failures (defaults: 3 attempts, 300 ms base). */
  readonly retry?: BackoffOptions;
}

export type IceSubmission = {
  readonly InputConfig: string;
  readonly EditingConfig: string;
  readonly OutputConfig: string;
  readonly Overwrite: boolean;
  readonly Title?: string;
  readonly Description?: string;
  readonly UserData?: string;
};

const bytes = (s: string): number => Buffer.byteLength(s, "utf8");
const RETRYABLE =
  /^(Throttling|ServiceUnavailable|InternalError|UnknownError|RequestTimeoutError|ECONN|ETIMEDOUT|EPIPE)/;

export class IceClient {
  readonly #client: PopRpcClient;

  constructor(private readonly opts: IceClientOptions) {
    this.#client = new PopRpcClient({
      endpoint: opts.endpoint,
      apiVersion: "2020-11-09",
      credentials: opts.credentials,
    });
  }

  /** Builds the request parameters, checking the seed's limits first. No I/O. */
  prepare(input: IceInput, output: { bucket: string; object: string }, notifyAddress?: string): IceSubmission {
    const req = parseInput(IceInputSchema, input);
    const voice = req.customizedVoice ? undefined : requireNlsVoice(req.voice);
    if (voice && !voice.sampleRates.includes(req.sampleRate))
      throw new InputError(
        "sampleRate",
        `${req.sampleRate} Hz is not supported by ${voice.id}; use one of ${voice.sampleRates.join(", ")}`,
        { limit: voice.sampleRates.join("|") },
      );
    const { text, field } = speakable(req);
    const count = countNlsChars(text);
    if (count > ICE_TEXT_LIMIT)
      throw new InputError(
        field,
        `is ${count} characters; ICE SubmitAudioProduceJob takes at most ${ICE_TEXT_LIMIT} (seed 002)`,
        { limit: ICE_TEXT_LIMIT, actual: count, statusCode: 413, code: "TextTooLong" },
      );
    if (req.ssml !== undefined)
      assertValidSsml(req.ssml, { flavor: "nls", emotions: voice?.emotions, sampleRate: req.sampleRate }, "ssml");
    if (req.title !== undefined && bytes(req.title) > ICE_TITLE_BYTES)
      throw new InputError("title", `is ${bytes(req.title)} bytes of UTF-8; at most ${ICE_TITLE_BYTES} (seed 002)`, {
        limit: ICE_TITLE_BYTES,
        actual: bytes(req.title),
      });
    if (req.description !== undefined && bytes(req.description) > ICE_DESCRIPTION_BYTES)
      throw new InputError(
        "description",
        `is ${bytes(req.description)} bytes of UTF-8; at most ${ICE_DESCRIPTION_BYTES} (seed 002)`,
        { limit: ICE_DESCRIPTION_BYTES, actual: bytes(req.description) },
      );
    const userData = notifyAddress ? JSON.stringify({ NotifyAddress: notifyAddress }) : undefined;
    if (userData && bytes(userData) > ICE_USER_DATA_BYTES)
      throw new InputError(
        "notifyAddress",
        `makes UserData ${bytes(userData)} bytes; at most ${ICE_USER_DATA_BYTES} (seed 002)`,
        { limit: ICE_USER_DATA_BYTES },
      );
    const editing: EditingConfig = {
      ...(req.customizedVoice ? { customizedVoice: req.customizedVoice } : { voice: req.voice }),
      format: req.format.toUpperCase() as EditingConfig["format"],
      sample_rate: req.sampleRate,
      volume: req.volume,
      speech_rate: req.speechRate,
      pitch_rate: req.pitchRate,
    };
    return {
      InputConfig: text,
      EditingConfig: JSON.stringify(EditingConfigSchema.parse(editing)),
      OutputConfig: JSON.stringify(OutputConfigSchema.parse(output)),
      Overwrite: req.overwrite,
      ...(req.title !== undefined ? { Title: req.title } : {}),
      ...(req.description !== undefined ? { Description: req.description } : {}),
      ...(userData ? { UserData: userData } : {}),
    };
  }

  async submit(
    input: IceInput,
    output: { bucket: string; object: string },
    notifyAddress?: string,
  ): Promise<{ jobId: string }> {
    const params = this.prepare(input, output, notifyAddress);
    const raw = await this.#call("SubmitAudioProduceJob", params);
    const parsed = SubmitAudioProduceJobResponseSchema.safeParse(raw);
    if (!parsed.success)
      throw new UpstreamError({
        provider: "ice",
        code: "InvalidResponse",
        upstreamMessage: "SubmitAudioProduceJob answered without a JobId",
        retryable: true,
      });
    return { jobId: parsed.data.JobId };
  }

  /** The job's state from GetSmartHandleJob; a Failed job throws its UpstreamError (ICE's code and message). */
  async status(jobId: string): Promise<IceStatus> {
    const parsed = GetSmartHandleJobResponseSchema.safeParse(await this.#call("GetSmartHandleJob", { JobId: jobId }));
    if (!parsed.success)
      throw new UpstreamError({
        provider: "ice",
        code: "InvalidResponse",
        upstreamMessage: "GetSmartHandleJob answered without a valid State",
        retryable: true,
      });
    const job = parsed.data;
    if (job.State === "Failed")
      throw new UpstreamError({
        provider: "ice",
        code: job.ErrorCode ?? "Failed",
        upstreamMessage: job.ErrorMessage ?? "ICE reported the job as failed",
        retryable: false,
        taskId: jobId,
      });
    if (job.State !== "Finished") return { state: job.State === "Created" ? "queued" : "running", jobId };
    return {
      state: "success",
      jobId,
      sentences: parseAiResult(job.JobResult?.AiResult),
      mediaUrl: job.JobResult?.MediaUrl,
    };
  }

  async #call(action: string, params: Record<string, string | boolean>): Promise<unknown> {
    return withRetry(
      async () => {
        try {
          // POST keeps a 10,000-character InputConfig out of the URL.
          return await this.#client.request(action, params, {
            method: "POST",
            timeoutMs: this.opts.timeoutMs ?? 10_000,
          });
        } catch (error) {
          const e = error as { code?: string; name?: string; data?: { Message?: string } };
          const code = e.code ?? e.name ?? "NetworkError";
          // POP's message may echo its string to sign (with the AccessKeyId): keep only ICE's own message.
          throw new UpstreamError({
            provider: "ice",
            code,
            upstreamMessage: e.data?.Message?.split(/\s*server string to sign is/i)[0] ?? `${action} failed: ${code}`,
            retryable: RETRYABLE.test(code) || RETRYABLE.test(e.name ?? ""),
          });
        }
      },
      { attempts: 3, baseMs: 300, ...this.opts.retry },
    );
  }
}

/** AiResult is a JSON string of {text, begin_time, end_time}; anything else yields no sentences rather than a crash. */
export function parseAiResult(aiResult: string | undefined): Array<z.infer<typeof SentenceSchema>> {
  if (!aiResult) return [];
  try {
    return z.array(SentenceSchema).parse(JSON.parse(aiResult));
  } catch {
    return [];
  }
}
