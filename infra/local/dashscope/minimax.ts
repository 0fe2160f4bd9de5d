/**
 * The DashScope MiniMax emulator (seed 004): POST /api/v1/services/aigc/multimodal-generation/generation with a
 * Bearer key, the seed's validation, real audio, and answers in the assumed envelope (lib/providers/dashscope/
 * minimax.ts): synchronous hex or URL (served 24 h), or SSE frames of hex chunks ending with a status-2 frame.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { SpeechSource } from "../audio/engine.js";
import { readBody, sendJson } from "../http-util.js";
import type { QuotaGate } from "../quota.js";
import { MINIMAX_SYSTEM_VOICES, soundsMale } from "./minimax-voices.js";
import { checkMinimaxRequest } from "./minimax-wire.js";
import { THROTTLED } from "./throttled.js";

export class MinimaxEmulator {
  readonly stats = { requests: 0 };
  readonly #audio = new Map<string, { bytes: Buffer; type: string }>();

  readonly #voices: ReadonlySet<string>;

  constructor(
    private readonly opts: {
      engine: SpeechSource;
      apiKeys: ReadonlySet<string>;
      publicUrl: () => string;
      /** Voices beyond the system voices it knows (a cloned voice's id): MiniMax refuses voices it does not have. */
      voices?: readonly string[];
      /** The account's quota for MiniMax calls (answering at once, started a second): over it, HTTP 429. */
      quota?: QuotaGate;
    },
  ) {
    this.#voices = new Set([...MINIMAX_SYSTEM_VOICES, ...(opts.voices ?? [])]);
  }

  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? "/", "http://local");
    if (url.pathname.startsWith("/minimax-audio/")) {
      const audio = this.#audio.get(url.pathname.slice("/minimax-audio/".length));
      if (!audio) res.writeHead(404).end();
      else res.writeHead(200, { "content-type": audio.type, "content-length": audio.bytes.length }).end(audio.bytes);
      return true;
    }
    if (url.pathname !== "/api/v1/services/aigc/multimodal-generation/generation") return false;
    // The emulator's own failure answers that request as DashScope answers a server error, and ends nothing else.
    this.#generate(req, res).catch(() =>
      res.headersSent
        ? res.destroy()
        : sendJson(res, 500, {
            code: "InternalError",
            message: "An internal error has occurred.",
            request_id: randomUUID(),
          }),
    );
    return true;
  }

  async #generate(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const key = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "")?.[1];
    if (!key || !this.opts.apiKeys.has(key))
      return sendJson(res, 401, { code: "InvalidApiKey", message: "Invalid API-key provided.", request_id: requestId });
    let body: unknown;
    try {
      body = JSON.parse((await readBody(req, 1024 * 1024)).toString("utf8"));
    } catch {
      return sendJson(res, 400, {
        code: "InvalidParameter",
        message: "The request body is not valid JSON.",
        request_id: requestId,
      });
    }
    const input = checkMinimaxRequest(body);
    if ("problem" in input)
      return sendJson(res, 400, { code: "InvalidParameter", message: input.problem, request_id: requestId });
    // The call holds its place in the account's quota until its answer has been sent.
    const admitted = this.opts.quota ? this.opts.quota.admit() : { end: () => undefined };
    if (!admitted) return sendJson(res, 429, { ...THROTTLED, request_id: requestId });
    res.once("close", () => admitted.end());
    this.stats.requests++;
    const voices = input.voiceIds;
    const unknown = voices.find((v) => !this.#voices.has(v));
    if (unknown !== undefined) {
      // MiniMax answers a voice it does not have in base_resp with 2013, invalid params (HTTP 200; over SSE, an event).
      const refusal = {
        trace_id: requestId,
        base_resp: {
          status_code: 2013,
          status_msg: `invalid params, voice_id ${unknown} does not exist (the local emulator knows ${MINIMAX_SYSTEM_VOICES.length} system voices; add others with LOCAL_MINIMAX_VOICES)`,
        },
      };
      if (req.headers["x-dashscope-sse"] !== "enable") return sendJson(res, 200, refusal);
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      res.end(`id:1\nevent:result\ndata:${JSON.stringify(refusal)}\n\n`);
      return;
    }
    const format = input.format;
    if (format === "flac")
      // Real MiniMax makes FLAC; this emulator has no FLAC encoder and says so rather than label WAV as FLAC.
      return sendJson(res, 400, {
        code: "InvalidParameter",
        message: "input.audio_setting.format: the local MiniMax emulator makes mp3, wav and pcm, not flac",
        request_id: requestId,
      });
    const sampleRate = input.sampleRate;
    const result = await this.opts.engine.synthesize({
      text: input.text,
      format,
      sampleRate,
      volume: Math.min(100, Math.round(input.vol * 50)),
      male: voices.length > 0 && soundsMale(voices[0]!),
    });
    const extra = {
      audio_length: result.durationMs,
      audio_sample_rate: sampleRate,
      audio_size: result.audio.length,
      bitrate: input.bitrate,
      word_count: Array.from(input.text).length,
      usage_characters: Array.from(input.text).length,
      audio_format: format,
      audio_channel: 1,
    };
    const ok = { status_code: 0, status_msg: "success" };
    if (req.headers["x-dashscope-sse"] === "enable") {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      const size = 8192;
      for (let i = 0; i < result.audio.length; i += size) {
        res.write(
          `id:${i / size + 1}\nevent:result\ndata:${JSON.stringify({ data: { audio: result.audio.subarray(i, i + size).toString("hex"), status: 1 }, trace_id: requestId, base_resp: ok })}\n\n`,
        );
      }
      const aggregated = input.excludeAggregatedAudio ? "" : result.audio.toString("hex");
      res.end(
        `id:final\nevent:result\ndata:${JSON.stringify({ data: { audio: aggregated, status: 2 }, extra_info: extra, trace_id: requestId, base_resp: ok })}\n\n`,
      );
      return;
    }
    if (input.outputFormat === "url") {
      const id = `${randomBytes(12).toString("hex")}.${format}`;
      this.#audio.set(id, {
        bytes: result.audio,
        type: format === "mp3" ? "audio/mpeg" : format === "wav" ? "audio/wav" : "application/octet-stream",
      });
      return sendJson(res, 200, {
        data: { audio: `${this.opts.publicUrl()}/minimax-audio/${id}`, status: 2 },
        extra_info: extra,
        trace_id: requestId,
        base_resp: ok,
      });
    }
    sendJson(res, 200, {
      data: { audio: result.audio.toString("hex"), status: 2 },
      extra_info: extra,
      trace_id: requestId,
      base_resp: ok,
    });
  }
}
