/**
 * The speech function's routes: the job API (POST /v1/jobs, GET /v1/jobs/{id}) and POST /v1/speech, which answers
 * short text with audio at once and long text with a 202 job. Thin: parse, call lib, shape.
 */

import { ApiAuth } from "../../lib/auth.js";
import { interactiveLease } from "../../lib/budget/interactive.js";
import { InputError } from "../../lib/errors.js";
import { Cors } from "../../lib/http/cors.js";
import { json, readJson } from "../../lib/http/response.js";
import { Router } from "../../lib/http/router.js";
import { bookView } from "../../lib/jobs/book-view.js";
import { bookRequestAsJob, jobFromRequest } from "../../lib/jobs/intake.js";
import { canRead } from "../../lib/jobs/job-view.js";
import { storedLabel } from "../../lib/jobs/label-view.js";
import { listJobs, subtitlesOf, viewJob } from "../../lib/jobs/listing.js";
import type { Job } from "../../lib/jobs/schema.js";
import { NLS_SHORT_TEXT_LIMIT } from "../../lib/providers/nls/synthesizer.js";
import { quoteContextOf, quoteRequest } from "../../lib/quotes/quote-request.js";
import { intakeOf, type JobRuntime } from "../../lib/runtime.js";
import { SpeechRequestSchema } from "../../lib/speech/request.js";
import { openShortSpeech } from "../../lib/speech/short.js";
import { countNlsChars } from "../../lib/text/index.js";
import { parseInput } from "../../lib/validation.js";
import { FcHttpEventSchema } from "../_fc/events.js";

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Bodies carry up to 100,000 characters (about 400 KB of UTF-8) plus options. */
const MAX_BODY = 1024 * 1024;

/** The credential check the speech function's FC handler runs before the body is decoded (every route needs one). */
export function speechGate(rt: JobRuntime): (headers: Headers, url: URL) => void {
  const auth = new ApiAuth({ keys: rt.config.TTS_API_KEYS, tokenSecret: rt.config.TTS_TOKEN_SECRET });
  return (headers, url) => void auth.check(auth.credentialOf(headers, url));
}

export function createSpeechRouter(rt: JobRuntime): Router {
  const auth = new ApiAuth({ keys: rt.config.TTS_API_KEYS, tokenSecret: rt.config.TTS_TOKEN_SECRET });
  const authorize = (request: Request): string => auth.check(auth.credentialOf(request.headers, new URL(request.url)));
  const ctx = intakeOf(rt);

  const quoteCtx = quoteContextOf(rt.config, ctx);

  const submitJob = async (body: unknown, request: Request, owner: string): Promise<Response> => {
    // `dryRun: true`: the quote, and nothing made.
    if (isRecord(body) && body.dryRun === true) return json(200, await quoteRequest(body, owner, quoteCtx));
    const { job, created } = await rt.service.create(
      await jobFromRequest(body, request.headers.get("idempotency-key"), owner, ctx),
    );
    return json(202, await viewJob(job, { jobs: rt.jobs, storage: rt.clients.storage }), {
      location: `/v1/jobs/${job.id}`,
      ...(created ? {} : { "idempotent-replayed": "true" }),
    });
  };

  /** The job `id` if the caller may read it; another key's job is answered exactly as a missing one (404). */
  const readableJob = async (request: Request, id: string): Promise<Job> => {
    const owner = authorize(request);
    const job = /^[0-9a-z-]{8,64}$/.test(id) ? await rt.jobs.get(id) : undefined;
    if (!job || !canRead(job, owner))
      throw new InputError("id", `no job ${id.slice(0, 64)}`, { statusCode: 404, code: "NotFound" });
    return job;
  };

  return (
    new Router(rt.log, new Cors(rt.config.TTS_CORS_ORIGINS))
      .on("POST", "/v1/jobs", async (request) => {
        const owner = authorize(request);
        return submitJob(await readJson(request, MAX_BODY), request, owner);
      })
      // A book's own address: its fields (epub, markdown or chapters; title, author, profile) at the top with the job's.
      .on("POST", "/v1/books", async (request) => {
        const owner = authorize(request);
        return submitJob(bookRequestAsJob(await readJson(request, MAX_BODY)), request, owner);
      })
      // What a job, a book or a batch would bill and take, without calling any provider.
      .on("POST", "/v1/quotes", async (request) => {
        const owner = authorize(request);
        return json(200, await quoteRequest(await readJson(request, MAX_BODY), owner, quoteCtx));
      })
      .on("GET", "/v1/jobs", async (request) => {
        const owner = authorize(request);
        return json(
          200,
          await listJobs(new URL(request.url).searchParams, owner, {
            jobs: rt.jobs,
            storage: rt.clients.storage,
            inputPrefix: rt.config.OSS_INPUT_PREFIX,
            outputPrefix: rt.config.OSS_OUTPUT_PREFIX,
          }),
        );
      })
      .on("GET", "/v1/jobs/:id", async (request, { params }) => {
        const job = await readableJob(request, params.id!);
        return json(200, await viewJob(job, { jobs: rt.jobs, storage: rt.clients.storage }));
      })
      // Cancel: its owner only (another key's job is a 404, as for reading). No provider task starts after the answer.
      .on("DELETE", "/v1/jobs/:id", async (request, { params }) => {
        const job = await readableJob(request, params.id!);
        if ((job.state === "done" || job.state === "failed") && !job.cancelled)
          throw new InputError("id", `job ${job.id} has already ended (${job.state})`, {
            statusCode: 409,
            code: "AlreadyEnded",
          });
        const now = await rt.service.cancel(job);
        return json(200, await viewJob(now, { jobs: rt.jobs, storage: rt.clients.storage }));
      })
      .on("GET", "/v1/jobs/:id/label", async (request, { params }) => {
        const job = await readableJob(request, params.id!);
        return json(200, await storedLabel(job, rt.clients.storage));
      })
      .on("GET", "/v1/jobs/:id/book", async (request, { params }) => {
        const job = await readableJob(request, params.id!);
        return json(200, await bookView(job, rt.clients.storage));
      })
      .on("GET", "/v1/jobs/:id/subtitles", async (request, { params }) => {
        const job = await readableJob(request, params.id!);
        const file = await subtitlesOf(job, new URL(request.url).searchParams.get("format"), rt.clients.storage);
        return new Response(file.body, { headers: { "content-type": file.contentType, "cache-control": "no-store" } });
      })
      .on("GET", "/v1/batches/:id", async (request, { params }) => {
        authorize(request);
        const view = await rt.batches.view(params.id!);
        if (!view)
          throw new InputError("id", `no batch ${params.id!.slice(0, 128)}`, { statusCode: 404, code: "NotFound" });
        return json(200, view);
      })
      .on("DELETE", "/v1/batches/:id", async (request, { params }) => {
        authorize(request);
        const view = await rt.batches.cancel(params.id!);
        if (!view)
          throw new InputError("id", `no batch ${params.id!.slice(0, 128)}`, { statusCode: 404, code: "NotFound" });
        return json(200, view);
      })
      .on("POST", "/v1/speech", async (request) => {
        const owner = authorize(request);
        const body = (await readJson(request, MAX_BODY)) as Record<string, unknown>;
        const text =
          typeof body?.text === "string" ? body.text : typeof body?.ssml === "string" ? body.ssml : undefined;
        if (text === undefined || countNlsChars(text) > NLS_SHORT_TEXT_LIMIT || body.input !== undefined)
          return submitJob(body, request, owner);
        // Short text: the streaming path's synthesis, answered whole (built-in runtimes cannot stream).
        const { subtitles: _s, output: _o, ...short } = body;
        // Built-in runtimes answer whole: timings interleaved with streamed audio are the stream function's.
        if (short.timestamps !== undefined)
          throw new InputError("timestamps", "are given with streamed audio: POST /v1/stream with timestamps: true");
        const speech = await openShortSpeech(parseInput(SpeechRequestSchema, short), {
          nls: rt.clients.nls,
          cosyvoice: rt.clients.cosyvoice,
          minimax: rt.clients.minimax,
          // Interactive: within the account's budget, or 429 with Retry-After before any provider call.
          lease: (provider, weight) => interactiveLease(rt.budget, { provider, tenant: owner, weight }),
        });
        const chunks: Uint8Array[] = [];
        for await (const chunk of speech.body) chunks.push(chunk);
        return new Response(Buffer.concat(chunks), { headers: { "content-type": speech.contentType } });
      })
  );
}

/** What this function is triggered by in s.yaml, and the schema its entry parses those events with (checked by the wiring test). */
export const EVENTS = { triggers: ["http"] as const, schema: FcHttpEventSchema };
