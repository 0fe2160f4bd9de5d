/**
 * A deterministic simulation of the job and batch machines, in the manner of FoundationDB's and TigerBeetle's: the
 * production code (JobService, BatchService, storeOutputs, recoverFailedStore) runs over an in-memory object store and
 * a scripted provider whose every call is a scheduling point. One seed decides everything that can vary: which
 * waiting operation or event goes next, and which faults happen:
 * - crashes: an invocation dies at one of its awaited steps (what it wrote so far stays, nothing after it happens);
 * - lost answers: a write happens but its caller is told it failed (a timeout);
 * - failed writes, and provider refusals (transient);
 * - lost, duplicated and reordered deliveries: FC's at-least-once queue, provider callbacks;
 * - clock jumps, past every grace period and deadline.
 * After every step the invariants are checked; once faults stop, every job and batch must end (liveness).
 */
import { Readable } from "node:stream";
import { BatchService } from "../../lib/batches/service.js";
import { InputError, UpstreamError } from "../../lib/errors.js";
import type { Invoker } from "../../lib/invoke.js";
import { signJobId } from "../../lib/jobs/callback-signature.js";
import { tenantOutputPrefix } from "../../lib/jobs/output-namespace.js";
import type { JobProvider, ProviderStatus } from "../../lib/jobs/providers.js";
import { JobRecords } from "../../lib/jobs/records.js";
import { isTerminal, type Job, JobOptionsSchema, type JobState } from "../../lib/jobs/schema.js";
import { JobService } from "../../lib/jobs/service.js";
import { partAttempt } from "../../lib/jobs/split-jobs.js";
import { storeOutputs } from "../../lib/jobs/store-audio.js";
import { recoverFailedStore } from "../../lib/jobs/store-failure.js";
import { createLogger } from "../../lib/log.js";
import { MemoryBucket, type StreamingBucket } from "../../lib/storage/bucket.js";
import type { ObjectInfo, PutOptions, StreamPutOptions } from "../../lib/storage/oss.js";
import { countNlsChars } from "../../lib/text/index.js";
import { sentenceSpans } from "../../lib/text/sentences.js";
import { Prng } from "./prng.js";

/** The functions' logs are not the simulation's output. */
const SILENT = createLogger({ level: "error", write: () => undefined });
/** The callback URLs' HMAC key. */
const CALLBACK_SECRET = "c".repeat(40);

/** Bytes of PCM audio per character the scripted provider makes (any fixed rate: durations are checked exactly). */
export const BYTES_PER_CHAR = 2;
const MINUTE = 60_000;

export interface SimConfig {
  /** Fault probabilities per opportunity; all zero once the fault phase ends. */
  readonly crash: number;
  readonly lostAnswer: number;
  readonly failedWrite: number;
  readonly providerRefusal: number;
  readonly lostCallback: number;
  readonly duplicate: number;
  /** A finished task's audio lacks one of its text's sentences (its timed sentences say so). */
  readonly droppedSentence: number;
  /** Steps with faults; after them the world runs fault-free until it is quiet. */
  readonly faultSteps: number;
  readonly maxSteps: number;
  /** At most this many faults (the shrinker's knob); the seed's other choices stay the same. */
  readonly faultBudget?: number;
  /** Keep the schedule as text (off for bulk runs: a failing seed is run again with it on). */
  readonly trace?: boolean;
}

export const DEFAULT_CONFIG: SimConfig = {
  crash: 0.02,
  lostAnswer: 0.02,
  failedWrite: 0.02,
  providerRefusal: 0.05,
  lostCallback: 0.1,
  duplicate: 0.05,
  droppedSentence: 0.05,
  faultSteps: 250,
  maxSteps: 6000,
};

/** What the invariants read of a batch's manifest. */
interface Manifest {
  readonly batchId: string;
  readonly state: string;
  readonly notify?: unknown;
  readonly items: ReadonlyArray<{ id: string; jobId?: string; state: string }>;
}

/** A function instance: the services its invocations call, over its own store and provider views. */
interface Instance {
  readonly id: number;
  readonly service: JobService;
  readonly batches: BatchService;
  readonly records: JobRecords;
  readonly store: SimBucket;
}

/** An invocation's process died here: its pending step never returns (the promise is left unresolved). */
class Crash extends Error {}

interface Invocation {
  readonly id: number;
  /** The function instance it runs on (set when it starts). */
  instance?: number;
  readonly fn: "submit" | "store" | "reconcile" | "callback";
  readonly payload: Record<string, unknown>;
  attempt: number;
  readonly acceptedAt: number;
}

type Event =
  | { readonly kind: "invoke"; readonly invocation: Invocation }
  | { readonly kind: "finish-task"; readonly taskId: string }
  | { readonly kind: "tick" };

export interface Violation {
  readonly step: number;
  readonly invariant: string;
  readonly detail: string;
}

/**
 * The scripted provider: ICE-like (audio written into the bucket at the job's key), calls back, 40 characters a task.
 * It keeps every task it accepted (what was billed); each instance calls it through its own view (`for`).
 */
class SimProvider {
  readonly name = "ice" as const;
  readonly audio = "bucket" as const;
  readonly callsBack = true;
  readonly limit = 40;
  /** Every task the provider accepted: what was billed. */
  readonly tasks: Array<{
    taskId: string;
    jobId: string;
    attempt: number;
    chars: number;
    finished: boolean;
    text: string;
    /** Its audio lacks a sentence of its text (the droppedSentence fault). */
    dropped?: boolean;
  }> = [];
  /** Tasks finished so far. */
  finished = 0;
  readonly #status = new Map<string, ProviderStatus>();

  constructor(private readonly world: World) {}

  /** The provider as one instance calls it: its calls are that instance's scheduling points. */
  for(owner: number): JobProvider {
    return {
      name: this.name,
      api: "ice",
      callMs: 60_000,
      paceMsPerCharacter: 25,
      audio: this.audio,
      callsBack: this.callsBack,
      limit: this.limit,
      deadline: { ms: 3 * 3600_000, says: "the 3 hours ICE is given" },
      validate: (text) => this.validate(text),
      submit: (job, text) => this.submit(job, text, owner),
      status: (taskId) => this.status(taskId, owner),
    };
  }

  validate(text: string): { characters: number } {
    if (text.trim() === "") throw new InputError("text", "must contain text to speak");
    return { characters: countNlsChars(text) };
  }

  async submit(job: Job, text: string, owner: number): Promise<string> {
    await this.world.io("provider.submit", owner);
    if (this.world.fault("providerRefusal"))
      throw new UpstreamError({ provider: "ice", code: "Throttling", upstreamMessage: "busy", retryable: true });
    const taskId = `task-${this.tasks.length + 1}`;
    this.tasks.push({
      taskId,
      jobId: job.id,
      attempt: job.retries ?? 0,
      chars: countNlsChars(text),
      finished: false,
      text,
    });
    this.#status.set(taskId, { state: "pending" });
    this.world.schedule({ kind: "finish-task", taskId });
    // The task exists; the answer saying so may still be lost on its way back.
    if (this.world.fault("lostAnswer"))
      throw new UpstreamError({ provider: "ice", code: "NetworkError", upstreamMessage: "lost", retryable: true });
    return taskId;
  }

  async status(taskId: string, owner: number): Promise<ProviderStatus> {
    await this.world.io("provider.status", owner);
    return this.#status.get(taskId) ?? { state: "pending" };
  }

  /** The task ends: its audio is in the bucket and its callback is sent (perhaps lost, perhaps twice). */
  finish(taskId: string, store: MemoryBucket): void {
    const task = this.tasks.find((t) => t.taskId === taskId)!;
    task.finished = true;
    this.finished++;
    const job = this.world.peek(task.jobId);
    if (job) void store.put(job.output.audioKey, Buffer.alloc(task.chars * BYTES_PER_CHAR, 1));
    // Its text's sentences, timed one after another; one of them left out when the audio lost it.
    const spans = sentenceSpans(task.text);
    task.dropped = spans.length >= 2 && this.world.fault("droppedSentence");
    const sentences = spans
      .filter((_, i) => !(task.dropped && i === 1))
      .map((span, i) => ({ text: span.text, begin_time: i * 1000, end_time: i * 1000 + 900 }));
    this.#status.set(taskId, { state: "success", audioAddress: "", sentences });
    if (!this.world.fault("lostCallback")) this.world.invoke("callback", { jobId: task.jobId, taskId });
    if (this.world.fault("duplicate")) this.world.invoke("callback", { jobId: task.jobId, taskId });
  }
}

/** The object store as the functions see it: every call a scheduling point, and the place faults strike. */
class SimBucket implements StreamingBucket {
  readonly bucket = "sim";

  constructor(
    private readonly world: World,
    readonly raw: MemoryBucket,
    /** The instance whose calls these are (-1: the API's, which no crash ends). */
    private readonly owner: number,
  ) {}

  get(key: string): Promise<Buffer | undefined> {
    return this.#read("get", key, () => this.raw.get(key));
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    return this.#read("head", key, () => this.raw.head(key));
  }

  put(key: string, body: Buffer | string, opts?: PutOptions): Promise<{ created: boolean; etag?: string }> {
    return this.#write("put", key, () => this.raw.put(key, body, opts));
  }

  delete(key: string): Promise<void> {
    return this.#write("delete", key, () => this.raw.delete(key));
  }

  list(prefix: string, opts?: { marker?: string; maxKeys?: number }) {
    return this.#read("list", prefix, () => this.raw.list(prefix, opts));
  }

  async putStream(key: string, body: Readable | AsyncIterable<Uint8Array>, opts?: StreamPutOptions) {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(Buffer.from(chunk as Uint8Array));
    return this.#write("putStream", key, () => this.raw.putStream(key, Readable.from([Buffer.concat(chunks)]), opts));
  }

  getStream(key: string): Promise<Readable> {
    return this.#read("getStream", key, () => this.raw.getStream(key));
  }

  getRange(key: string, start: number, end: number): Promise<Buffer> {
    return this.#read("getRange", key, () => this.raw.getRange(key, start, end));
  }

  /** One operation: a scheduling point, then perhaps a failure before anything happens, then the operation. */
  async #read<T>(op: string, key: string, run: () => Promise<T>): Promise<T> {
    await this.world.io(`${op} ${key}`, this.owner);
    this.#maybeFail(key);
    return run();
  }

  /** A write: as a read, and its answer may be lost after it happened. */
  async #write<T>(op: string, key: string, run: () => Promise<T>): Promise<T> {
    const result = await this.#read(op, key, run);
    this.#maybeLoseAnswer(key);
    return result;
  }

  #maybeFail(key: string): void {
    if (this.world.fault("failedWrite"))
      throw new UpstreamError({
        provider: "oss",
        code: "InternalError",
        upstreamMessage: `injected: ${key}`,
        retryable: true,
      });
  }

  #maybeLoseAnswer(key: string): void {
    if (this.world.fault("lostAnswer"))
      throw new UpstreamError({
        provider: "oss",
        code: "RequestTimeout",
        upstreamMessage: `answer lost: ${key}`,
        retryable: true,
      });
  }
}

export class World {
  readonly prng: Prng;
  readonly raw = new MemoryBucket("sim", {
    // What the invariants read: a write elsewhere (an election, a text, a marker) leaves them as they were.
    watch: ["jobs/records/", "jobs/batches/", "jobs/index/owner/", "jobs/batch-pending/", "output/", "jobs/parts/"],
  });
  readonly provider: SimProvider;
  /** The function instance events run on now: a crash ends it and every invocation on it; the next is cold. */
  #instance!: Instance;
  /** The API's instance, which the users' requests run on; no crash ends it (a client would simply retry). */
  readonly api: Instance;
  #instances = 0;
  readonly violations: Violation[] = [];
  readonly trace: string[] = [];
  step = 0;
  clock = Date.parse("2026-12-01T00:00:00Z");
  faultsOn = true;

  readonly #waiting: Array<{ label: string; owner: number; resume: () => void }> = [];
  readonly #events: Event[] = [];
  readonly #running = new Map<number, Invocation>();
  get #tracing(): boolean {
    return this.config.trace !== false;
  }
  /**
   * Whether the code made runnable this step has not yet reached its next scheduling point (or its end). Each
   * scheduling point names its instance itself (every instance's store, provider and queue are bound to it), so code
   * that goes on after the step ends (a second chain the step woke) is still its own instance's, wherever it runs.
   */
  #runnable = false;

  /**
   * Lets the runnable invocation go on until it waits on the scheduler again or ends: a few microtask turns usually
   * do; code that waits on the event loop itself (a stream's nextTick) gets a macrotask turn.
   */
  async #settle(): Promise<void> {
    for (let i = 0; i < 64 && this.#runnable; i++) await Promise.resolve();
    // Still going (the users' requests, which end without a scheduling point, or a stream's nextTick): one macrotask
    // turn, which lets everything runnable run, as every step did before.
    if (this.#runnable) await settle();
    this.#runnable = false;
  }
  readonly #dead = new Set<number>();
  /** Whether reconcile's tick has come yet. */
  #ticked = false;
  #nextInvocation = 0;
  #ids = 0;

  constructor(
    readonly seed: number,
    readonly config: SimConfig = DEFAULT_CONFIG,
    readonly setup: { partConcurrency: number; batchConcurrency: number } = { partConcurrency: 2, batchConcurrency: 2 },
  ) {
    this.prng = new Prng(seed);
    this.provider = new SimProvider(this);
    this.api = this.#build(-1);
    this.#instance = this.#coldStart();
  }

  /** A new instance of the functions: its own warm caches, nothing of a dead one's. */
  #coldStart(): Instance {
    return this.#build(++this.#instances);
  }

  /** The functions as instance `id` runs them: every store call, provider call, queue write and wait is its own. */
  #build(id: number): Instance {
    const log = SILENT;
    const now = () => new Date(this.clock);
    const sleep = async (): Promise<void> => this.io("sleep", id);
    const store = new SimBucket(this, this.raw, id);
    const records = new JobRecords(store, "jobs/", sleep);
    const invoker: Invoker = {
      invokeAsync: async (name, payload) => {
        await this.io(`invoke ${name}`, id);
        if (this.fault("failedWrite"))
          throw new UpstreamError({
            provider: "fc",
            code: "ServiceUnavailable",
            upstreamMessage: "busy",
            retryable: true,
          });
        this.invoke(name as Invocation["fn"], payload as Record<string, unknown>);
        if (this.fault("duplicate")) this.invoke(name as Invocation["fn"], payload as Record<string, unknown>);
      },
    };
    const service: JobService = new JobService({
      jobs: records,
      storage: store,
      providers: { nls: undefined, ice: this.provider.for(id), minimax: undefined },
      invoker,
      log,
      callbackSecret: CALLBACK_SECRET,
      callbackBaseUrl: "https://cb.example.com",
      outputPrefix: "output/",
      partsPrefix: "jobs/parts/",
      partConcurrency: this.setup.partConcurrency,
      now,
      newId: () => `job-${String(++this.#ids).padStart(4, "0")}`,
      staleAfterMs: 2 * MINUTE,
      sleep,
      onSynthesized: async (job) => batches.itemSynthesized(job),
      onEnded: async (job) => batches.itemEnded(job),
    });
    const batches: BatchService = new BatchService({
      jobs: records,
      service,
      storage: store,
      invoker,
      log,
      jobsPrefix: "jobs/",
      outputPrefix: "output/",
      inputPrefix: "input/",
      defaultProvider: "ice",
      concurrency: this.setup.batchConcurrency,
      // Groups of 1 to 3 items (by seed): a batch of 2 to 5 items ends group by group, racing ends in one group or in two.
      endedGroupSize: 1 + (this.seed % 3),
      secret: "s".repeat(40),
      staleAfterMs: 2 * MINUTE,
      now,
      webhooks: {
        check: () => undefined,
        send: async (_url, delivery, payload) => {
          await this.io(`webhook ${delivery}`, id);
          this.#webhook(delivery, payload);
          // The receiver got it; its answer may still be lost on the way back.
          return this.fault("lostAnswer") ? { error: "answer lost" } : { status: 200 };
        },
      },
    });
    return { id, service, batches, records, store };
  }

  /** The API's services and store, which the users' requests call. */
  get service(): JobService {
    return this.api.service;
  }

  get batches(): BatchService {
    return this.api.batches;
  }

  get store(): SimBucket {
    return this.api.store;
  }

  /** Whether a fault of `kind` strikes now (never once the fault phase is over). */
  fault(
    kind: "crash" | "lostAnswer" | "failedWrite" | "providerRefusal" | "lostCallback" | "duplicate" | "droppedSentence",
  ): boolean {
    if (!this.faultsOn) return false;
    // The draw is made whatever the budget, so a run with fewer faults keeps every other choice of its seed.
    const hit = this.prng.chance(this.config[kind]);
    if (!hit) return false;
    if (this.faults >= (this.config.faultBudget ?? Number.POSITIVE_INFINITY)) return false;
    this.faults++;
    return true;
  }

  /** Faults injected so far. */
  faults = 0;

  /** A scheduling point of instance `owner`: it waits until the scheduler picks it; a crash there ends the instance. */
  io(label: string, owner: number): Promise<void> {
    this.#runnable = false;
    if (this.#dead.has(owner)) return new Promise(() => undefined);
    return new Promise((resume) => this.#waiting.push({ label, owner, resume }));
  }

  schedule(event: Event): void {
    this.#events.push(event);
  }

  /** Queues an asynchronous invocation (FC's queue: at least once). */
  invoke(fn: Invocation["fn"], payload: Record<string, unknown>): void {
    this.schedule({
      kind: "invoke",
      invocation: { id: this.#nextInvocation++, fn, payload, attempt: 1, acceptedAt: this.clock },
    });
  }

  /** A job record as it stands, read without a scheduling point (for the provider and the invariants). */
  peek(id: string): Job | undefined {
    const body = this.raw.peek(`jobs/records/${id}.json`);
    return body ? (JSON.parse(body.toString("utf8")) as Job) : undefined;
  }

  /** Runs the world until it is quiet or out of steps. */
  async run(start: () => Promise<void>): Promise<void> {
    // The users' requests: outside any invocation, so no crash ends them (a client would simply send them again).
    let started = false;
    void start().then(
      () => (started = true),
      (error: unknown) => this.#violate("start", `the scenario's requests failed: ${(error as Error).message}`),
    );
    await settle();
    while (this.step < this.config.maxSteps) {
      this.step++;
      if (this.step === this.config.faultSteps) this.faultsOn = false;
      const choices = this.#waiting.length + this.#events.length;
      if (choices === 0 && !started) break;
      if (choices === 0) {
        // Quiet: time passes to reconcile's next tick (past every grace period). Past the fault phase, a quiet world
        // in which every job and batch has ended is done.
        if (!this.faultsOn && this.#allEnded()) break;
        // Promptness: with no fault injected, every job and batch ends by its own steps, before reconcile's first
        // tick. (Reconcile is the recovery path; work that needs it when nothing failed is stalled, as a batch whose
        // group of ended items nobody marked would be until reconcile counted every marker.)
        if (this.faults === 0 && !this.#ticked && !this.#allEnded())
          this.violations.push({ step: this.step, invariant: "prompt", detail: this.#unended().join("; ") });
        this.#ticked = true;
        this.clock += 30 * MINUTE;
        this.schedule({ kind: "tick" });
        continue;
      }
      if (this.faultsOn && this.prng.chance(0.01)) this.clock += this.prng.int(30) * MINUTE;
      else this.clock += this.prng.int(2000);
      const pick = this.prng.int(choices);
      if (pick < this.#waiting.length) {
        const [w] = this.#waiting.splice(pick, 1);
        const crashed = w!.owner >= 0 && this.fault("crash");
        if (this.#tracing) this.trace.push(`${this.step} ${crashed ? "CRASH at" : "io"} ${w!.label} [${w!.owner}]`);
        if (crashed) this.#kill(w!.owner);
        else {
          this.#runnable = true;
          w!.resume();
        }
      } else {
        const [e] = this.#events.splice(pick - this.#waiting.length, 1);
        this.#dispatch(e!);
      }
      await this.#settle();
      this.#check();
    }
    if (!this.#allEnded())
      this.violations.push({ step: this.step, invariant: "liveness", detail: this.#unended().join("; ") });
    this.#checkCancelBilling();
    // Every final batch that asked for a webhook sent it (at least once: a re-send carries the same delivery id).
    for (const key of this.raw.keysUnsorted("jobs/batches/")) {
      const m = this.#manifest(key);
      if (m.state !== "running" && m.notify && !this.webhooks.has(m.batchId))
        this.violations.push({
          step: this.step,
          invariant: "liveness",
          detail: `batch ${m.batchId}'s webhook was never sent`,
        });
    }
  }

  #dispatch(e: Event): void {
    if (e.kind === "finish-task") {
      if (this.#tracing) this.trace.push(`${this.step} provider finishes ${e.taskId}`);
      this.provider.finish(e.taskId, this.raw);
      return;
    }
    if (e.kind === "tick") {
      if (this.#tracing) this.trace.push(`${this.step} reconcile tick`);
      this.invoke("reconcile", {});
      return;
    }
    const inv = e.invocation;
    if (this.#tracing)
      this.trace.push(`${this.step} run ${inv.fn} #${inv.id} attempt ${inv.attempt} ${JSON.stringify(inv.payload)}`);
    this.#spawn(inv, () => this.#handle(inv));
  }

  /** What each function does with its event: the functions' own app code reduced to its calls into lib. */
  async #handle(inv: Invocation): Promise<void> {
    const p = inv.payload;
    const { service, batches, records, store: storage } = this.#instance;
    inv.instance = this.#instance.id;
    // The store function's work, as its handler and reconcile's recovery both run it.
    const store = (jobId: string) =>
      storeOutputs(jobId, {
        jobs: records,
        service,
        storage,
        log: SILENT,
        audioHosts: [],
        now: () => new Date(this.clock),
      });
    switch (inv.fn) {
      case "submit": {
        if (typeof p.submitJob === "string") {
          const job = await records.get(p.submitJob);
          if (job) await service.submit(job);
        } else {
          const item = p.batchItem as { batchId: string; index: number };
          await batches.runItem(item.batchId, item.index);
        }
        return;
      }
      case "store":
        await store(String(p.jobId));
        return;
      case "callback": {
        // The callback function's call: the URL's signature, and the task its body names.
        const jobId = String(p.jobId);
        await service.onCallback("ice", jobId, { signature: signJobId(CALLBACK_SECRET, jobId) }, async () =>
          String(p.taskId),
        );
        return;
      }
      case "reconcile":
        if (p.requestContext)
          await recoverFailedStore(p as never, { jobs: records, service, storeOutputs: store, log: SILENT });
        await service.reconcile();
        await batches.reconcile();
        return;
    }
  }

  /** Runs an invocation in its own context; a failure (or a crash) is retried as FC's async queue retries it. */
  #spawn(inv: Invocation, body: () => Promise<void>): void {
    this.#running.set(inv.id, inv);
    this.#runnable = true;
    void body()
      .then(() => {
        this.#running.delete(inv.id);
        this.#runnable = false;
      })
      .catch((error: unknown) => {
        this.#running.delete(inv.id);
        this.#runnable = false;
        this.#failed(inv, error);
      });
  }

  /** An instance dies: every invocation on it ends where it stands, and FC retries them. */
  #kill(instance: number): void {
    this.#dead.add(instance);
    for (let i = this.#waiting.length - 1; i >= 0; i--)
      if (this.#waiting[i]!.owner === instance) this.#waiting.splice(i, 1);
    for (const inv of [...this.#running.values()].filter((r) => r.instance === instance)) {
      this.#running.delete(inv.id);
      this.#failed(inv, new Crash("crashed"));
    }
    if (instance === this.#instance.id) this.#instance = this.#coldStart();
  }

  /** FC's retries (store: 2, the others 3), then store's onFailure destination: reconcile with FC's record. */
  #failed(inv: Invocation, error: unknown): void {
    if (inv.fn === "callback") return; // a provider's callback is not retried by FC (the provider may, or reconcile polls)
    const retries = inv.fn === "store" ? 2 : 3;
    if (inv.attempt <= retries) {
      this.schedule({
        kind: "invoke",
        invocation: { ...inv, id: this.#nextInvocation++, attempt: inv.attempt + 1 },
      });
      return;
    }
    if (inv.fn === "store")
      this.invoke("reconcile", {
        requestContext: { functionArn: "acs:fc:sim:1:functions/store", approximateInvokeCount: inv.attempt },
        requestPayload: JSON.stringify(inv.payload),
        responsePayload: JSON.stringify({ errorMessage: error instanceof Error ? error.message : String(error) }),
      });
  }

  /**
   * Parsed records and manifests, kept per stored body (a write stores a new one), so a step parses only what
   * changed; a parsed object therefore stands for the body it came from.
   */
  readonly #parsed = new WeakMap<Buffer, unknown>();
  /** Done records already checked, with the audio object they were checked against. */
  readonly #doneChecked = new WeakMap<Job, Buffer | undefined>();

  #parse<T>(key: string): T {
    const body = this.raw.peek(key)!;
    let value = this.#parsed.get(body);
    if (value === undefined) {
      value = JSON.parse(body.toString("utf8"));
      this.#parsed.set(body, value);
    }
    return value as T;
  }

  #jobs(): Job[] {
    return this.raw.keysUnsorted("jobs/records/").map((k) => this.#parse<Job>(k));
  }

  #manifest(key: string): Manifest {
    return this.#parse<Manifest>(key);
  }

  #unended(): string[] {
    const jobs = this.#jobs()
      .filter((j) => j.state !== "done" && j.state !== "failed")
      .map((j) => `job ${j.id} ${j.state}`);
    const batches = this.raw
      .keys("jobs/batches/")
      .map((k) => this.#manifest(k))
      .filter((m) => m.state === "running")
      .map((m) => `batch ${m.batchId} running`);
    return [...jobs, ...batches];
  }

  /** Every job and batch ended, and no batch still waits on reconcile (its webhook, its pending marker). */
  #allEnded(): boolean {
    return this.#unended().length === 0 && this.raw.keysUnsorted("jobs/batch-pending/").length === 0;
  }

  /** Every final webhook sent, by batch. */
  readonly webhooks = new Map<string, Array<{ step: number; state: string; items: string }>>();

  /**
   * A webhook as it is sent: a final one only for a batch whose manifest is final, every done item's audio there,
   * and the same outcome each time it is sent again (a re-send carries the same delivery id for the receiver).
   */
  #webhook(delivery: string, payload: Record<string, unknown>): void {
    const m = /^(.*):final$/.exec(delivery);
    if (!m) return;
    const batchId = m[1]!;
    const items = payload.items as Array<{ id: string; jobId?: string; state: string }>;
    const sent = {
      step: this.step,
      state: String(payload.state),
      items: JSON.stringify(items.map((i) => [i.id, i.state])),
    };
    const earlier = this.webhooks.get(batchId) ?? [];
    if (earlier.some((e) => e.state !== sent.state || e.items !== sent.items))
      this.#violate("webhook-once", `batch ${batchId}'s final webhook was sent with two different outcomes`);
    earlier.push(sent);
    this.webhooks.set(batchId, earlier);
    const byId = new Map(this.#jobs().map((j) => [j.id, j]));
    for (const item of items) {
      if (item.state !== "done") continue;
      const job = item.jobId ? byId.get(item.jobId) : undefined;
      if (job?.state !== "done" || !this.raw.peek(job.output.audioKey))
        this.#violate(
          "webhook-after-outputs",
          `batch ${batchId}'s webhook says ${item.id} is done; its job is ${job?.state}`,
        );
    }
  }

  /** The invariants, after every step. */
  #checked = { records: -1, batches: -1, index: -1, audio: -1, tasks: "" };
  #byId = new Map<string, Job>();

  #check(): void {
    // Only a write the invariants read or a provider task can change their verdict: each invariant is checked again
    // when what it reads has changed since the last step that checked it.
    const now = {
      records: this.raw.version("jobs/records/"),
      batches: this.raw.version("jobs/batches/"),
      index: this.raw.version("jobs/index/owner/"),
      // Audio: jobs' outputs, and parts' audio.
      audio: this.raw.version("output/") + this.raw.version("jobs/parts/"),
      tasks: `${this.provider.tasks.length} ${this.provider.finished}`,
    };
    const was = this.#checked;
    const records = now.records !== was.records;
    const tasks = now.tasks !== was.tasks;
    const audio = now.audio !== was.audio;
    if (!records && !tasks && !audio && now.batches === was.batches && now.index === was.index) return;
    this.#checked = now;
    if (records) this.#byId = new Map(this.#jobs().map((j) => [j.id, j]));
    const byId = this.#byId;
    if (records) this.#checkTransitions(byId);
    if (records || audio) this.#checkDone(byId);
    if (records) this.#checkCoverage(byId);
    if (records || audio || now.batches !== was.batches) this.#checkBatchesDone(byId);
    if (records) this.#checkTenantWriters(byId);
    if (records || now.index !== was.index) this.#checkViews(byId);
    if (records || tasks) this.#checkBilling(byId);
  }

  /** The first end each job came to: a job never ends two ways (done, then failed, or the reverse). */
  readonly #firstEnd = new Map<string, JobState>();

  #checkTransitions(byId: ReadonlyMap<string, Job>): void {
    for (const job of byId.values()) {
      if (!isTerminal(job.state)) continue;
      const first = this.#firstEnd.get(job.id);
      if (first === undefined) this.#firstEnd.set(job.id, job.state);
      else if (first !== job.state) this.#violate("ends-agree", `job ${job.id} ended ${first}, then ${job.state}`);
    }
  }

  /** Done means every output a job names exists, with the duration its text makes. */
  #checkDone(byId: ReadonlyMap<string, Job>): void {
    for (const job of byId.values()) {
      if (job.state !== "done") continue;
      // A done record and its audio that are both the objects checked last time hold still (a part's record does not
      // change once its parent is done).
      const audio = this.raw.peek(job.output.audioKey);
      if (this.#doneChecked.has(job) && this.#doneChecked.get(job) === audio) continue;
      this.#doneChecked.set(job, audio);
      const chars = job.parts
        ? job.parts.reduce((sum, p) => sum + (byId.get(p.jobId)?.characters ?? 0), 0)
        : job.characters;
      if (!audio) this.#violate("done-has-outputs", `job ${job.id} is done, ${job.output.audioKey} is missing`);
      else if (audio.length !== chars * BYTES_PER_CHAR)
        this.#violate(
          "done-has-outputs",
          `job ${job.id} is done, ${job.output.audioKey} holds ${audio.length} bytes, ${chars * BYTES_PER_CHAR} expected`,
        );
    }
  }

  /**
   * Nothing lost: a done job's parts are never audio that lost a sentence on its first attempt (that part is made
   * again before the whole is stitched; only a replacement that lost one too is kept, and mapped as missing).
   */
  #checkCoverage(byId: ReadonlyMap<string, Job>): void {
    for (const job of byId.values()) {
      if (job.state !== "done" || !job.parts) continue;
      for (const p of job.parts) {
        const part = byId.get(p.jobId);
        const task = part?.task ? this.provider.tasks.find((t) => t.taskId === part.task!.id) : undefined;
        if (part && task?.dropped && partAttempt(part) === 0)
          this.#violate("coverage", `job ${job.id} is done with part ${p.jobId}, whose audio lost a sentence`);
      }
    }
  }

  /** A final batch's done item has a done job whose audio exists. */
  #checkBatchesDone(byId: ReadonlyMap<string, Job>): void {
    for (const key of this.raw.keysUnsorted("jobs/batches/")) {
      const m = this.#manifest(key);
      if (m.state === "running") continue;
      for (const item of m.items) {
        if (item.state !== "done") continue;
        const job = item.jobId ? byId.get(item.jobId) : undefined;
        if (job?.state !== "done" || !this.raw.peek(job.output.audioKey))
          this.#violate(
            "done-has-outputs",
            `batch ${m.batchId} says item ${item.id} is done; its job is ${job?.state}`,
          );
      }
    }
  }

  /**
   * Tenants: a job of one API key writes only in its own namespace (or its unguessable default key), and no two
   * tenants' jobs ever share an output object.
   */
  #checkTenantWriters(byId: ReadonlyMap<string, Job>): void {
    const writers = new Map<string, string>();
    for (const job of byId.values()) {
      if (job.owner === undefined || job.parent) continue;
      const key = job.output.audioKey;
      if (!key.startsWith(tenantOutputPrefix("output/", job.owner)) && !key.startsWith("output/jobs/"))
        this.#violate("tenants", `job ${job.id} of ${job.owner.slice(0, 8)} writes ${key}, outside its namespace`);
      const other = writers.get(key);
      if (other !== undefined && other !== job.owner)
        this.#violate("tenants", `${key} is written by two tenants' jobs`);
      writers.set(key, job.owner);
    }
  }

  /**
   * A cancelled job, once everything has ended, says what it billed: exactly the characters of the provider tasks made
   * for it (its own, or its parts', every attempt's). A task started after the record ended uncounted is a bill its
   * owner was never told of.
   */
  #checkCancelBilling(): void {
    const byId = new Map(this.#jobs().map((j) => [j.id, j]));
    for (const job of byId.values()) {
      if (!job.cancelled) continue;
      const ids = new Set([job.id, ...(job.parts ?? []).map((p) => p.jobId)]);
      // The tasks of the job, or of the parts it ended with, each of the attempt its record ended on; a part replaced
      // after its task was billed is counted by the parent (`billedBefore`). A superseded attempt's task (its answer
      // lost, nothing adopted it) is the known unknown every job has (see billed-once).
      const billed =
        this.provider.tasks
          .filter((t) => ids.has(t.jobId) && t.attempt === (byId.get(t.jobId)?.retries ?? 0))
          .reduce((n, t) => n + t.chars, 0) + (job.parts ?? []).reduce((n, p) => n + (p.billedBefore ?? 0), 0);
      if (billed !== job.cancelled.billedCharacters)
        this.violations.push({
          step: this.step,
          invariant: "cancel-billed",
          detail: `job ${job.id} was cancelled saying ${job.cancelled.billedCharacters} characters billed; its tasks billed ${billed}`,
        });
    }
  }

  /** Views: what `GET /v1/jobs` lists for a key comes from its owner index; every job there is that key's own. */
  #checkViews(byId: ReadonlyMap<string, Job>): void {
    for (const key of this.raw.keysUnsorted("jobs/index/owner/")) {
      const [owner, entry] = key.slice("jobs/index/owner/".length).split("/");
      const job = byId.get(entry!.slice(entry!.indexOf("-") + 1));
      if (job && job.owner !== owner) this.#violate("tenants", `${owner!.slice(0, 8)}'s view lists job ${job.id}`);
    }
  }

  /** Billed once, and provider tasks in flight within their bounds. */
  #checkBilling(byId: ReadonlyMap<string, Job>): void {
    // Billed = synthesized + listed repairs: every provider task belongs to an attempt its job's record lists.
    for (const t of this.provider.tasks) {
      const job = byId.get(t.jobId);
      if (job && t.attempt > (job.retries ?? 0))
        this.#violate(
          "billed-once",
          `job ${t.jobId} has a task for attempt ${t.attempt}, which its record never lists`,
        );
    }
    // No task twice for the same job and attempt: a second one is billed twice.
    const seen = new Set<string>();
    for (const t of this.provider.tasks) {
      const key = `${t.jobId}#${t.attempt}`;
      if (seen.has(key)) this.#violate("billed-once", `job ${t.jobId} attempt ${t.attempt} has two provider tasks`);
      seen.add(key);
    }
    // Provider tasks in flight within the bounds: per split job and per batch.
    const inFlight = this.provider.tasks.filter((t) => !t.finished).map((t) => byId.get(t.jobId));
    const perParent = new Map<string, number>();
    const perBatch = new Map<string, Set<string>>();
    for (const job of inFlight) {
      if (job?.parent) perParent.set(job.parent.id, (perParent.get(job.parent.id) ?? 0) + 1);
      const batchJob = job?.parent ? byId.get(job.parent.id) : job;
      if (batchJob?.batch)
        perBatch.set(batchJob.batch.id, (perBatch.get(batchJob.batch.id) ?? new Set()).add(batchJob.batch.item));
    }
    for (const [parent, n] of perParent)
      if (n > this.setup.partConcurrency) this.#violate("bounds", `job ${parent} has ${n} parts synthesizing`);
    // A batch's bound is on its items synthesizing at once (a split item's parts are bounded by the parts' bound).
    for (const [batch, items] of perBatch)
      if (items.size > this.setup.batchConcurrency)
        this.#violate("bounds", `batch ${batch} has ${items.size} items synthesizing: ${[...items].join(", ")}`);
  }

  #violate(invariant: string, detail: string): void {
    if (this.violations.some((v) => v.invariant === invariant && v.detail === detail)) return;
    this.violations.push({ step: this.step, invariant, detail });
  }
}

/** Lets every runnable continuation run until each is waiting on the scheduler again. */
async function settle(): Promise<void> {
  // Every promise continuation (microtasks) runs before the next macrotask: one turn lets each runnable invocation
  // go on until it waits on the scheduler again.
  await new Promise((r) => setImmediate(r));
}

export const SIM_OPTIONS = JobOptionsSchema.parse({ voice: "siqi", format: "pcm", subtitles: [] });
