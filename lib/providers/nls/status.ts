/**
 * Every NLS status code of the two NLS documents the project is built on (the WebSocket TTS protocol and long-text
 * REST), with what each means and whether the same request may succeed later. NLS owns this table; UpstreamError
 * consults it for errors whose provider is "nls".
 */
/** What a seed says about one NLS status code. */
export interface NlsStatus {
  readonly message: string;
  readonly explanation: string;
  /** success: the task is done; state: not an error, the task is still going; error: it failed. */
  readonly kind: "success" | "state" | "error";
  readonly retryable: boolean;
  readonly needsNewToken?: boolean;
}

const ok = (message: string, explanation: string): NlsStatus => ({
  message,
  explanation,
  kind: "success",
  retryable: false,
});
const state = (message: string, explanation: string): NlsStatus => ({
  message,
  explanation,
  kind: "state",
  retryable: false,
});
const terminal = (message: string, explanation: string, extra: Partial<NlsStatus> = {}): NlsStatus => ({
  message,
  explanation,
  kind: "error",
  retryable: false,
  ...extra,
});
const transient = (message: string, explanation: string): NlsStatus => ({
  message,
  explanation,
  kind: "error",
  retryable: true,
});

/**
 * Every status code in seeds 000 (NLS WebSocket TTS) and 003 (NLS long-text REST).
 * Retryable: 5xxxxxxx (server load, "retry the call"), 40000005 (concurrency), 40000004 (idle timeout,
 * which the seed says also happens "when the server is under high instantaneous pressure").
 */
export const NLS_STATUS: Readonly<Record<string, NlsStatus>> = {
  "20000000": ok("SUCCESS", "Request succeeded."),
  "21050000": ok("SUCCESS", "Long-text synthesis task succeeded."),
  "21050001": state("RUNNING", "Long-text synthesis task is running; query again later."),
  "21050002": state("QUEUEING", "Long-text synthesis task is queued; query again later."),
  "40000000": terminal("Client error", "Default client error: invalid parameters or call logic."),
  "40000001": terminal(
    "The token is invalid or has expired",
    "Authentication failed: the token is expired or invalid (or the voice is not permitted: Gateway:ACCESS_DENIED:No privilege to this voice!).",
    { needsNewToken: true },
  ),
  "40000002": terminal("Gateway:MESSAGE_INVALID", "The message is invalid or incorrect."),
  "40000003": terminal("PARAMETER_INVALID", "Failed to decode url params: a parameter is invalid."),
  "40000004": transient(
    "Gateway:IDLE_TIMEOUT",
    "No data for more than 10 s after the connection opened; also happens under instantaneous server pressure, so retry.",
  ),
  "40000005": transient(
    "Gateway:TOO_MANY_REQUESTS:Too many requests!",
    "Too many concurrent requests; retry with backoff or raise the concurrency quota.",
  ),
  "40000009": terminal("Invalid wav header!", "The WAV header is invalid or too large."),
  "40000010": terminal(
    "Gateway:FREE_TRIAL_EXPIRED:The free trial has expired!",
    "The trial has ended and the commercial edition is not activated, or the account is overdue.",
  ),
  "40010001": terminal(
    "Gateway:NAMESPACE_NOT_FOUND:RESTful url path illegal",
    "The operation or parameter is not supported.",
  ),
  "40010003": terminal(
    "Gateway:DIRECTIVE_INVALID",
    "The client passed an incorrect parameter or directive (e.g. No text specified!).",
  ),
  "40010004": terminal(
    "Gateway:CLIENT_DISCONNECT:Client disconnected before task finished!",
    "The client closed the connection before the task finished.",
  ),
  "40010005": terminal(
    "Gateway:TASK_STATE_ERROR:Got stop directive while task is stopping!",
    "The client sent a directive that is not supported in the task's state.",
  ),
  "40020105": terminal("Meta:APPKEY_NOT_EXIST:Appkey not exist!", "The AppKey does not exist."),
  "40020106": terminal(
    "Meta:APPKEY_UID_MISMATCH:Appkey and user mismatch!",
    "The AppKey and the token belong to different accounts.",
  ),
  "403": terminal("Forbidden", "The token is invalid: it does not exist or has expired.", { needsNewToken: true }),
  "41000003": terminal(
    "MetaInfo doesn't have end point info",
    "No routing information for this AppKey (AppKey and token from different accounts?).",
  ),
  "41010101": terminal("UNSUPPORTED_SAMPLE_RATE", "The sample rate is not supported."),
  "41040201": terminal(
    "Realtime:GET_CLIENT_DATA_TIMEOUT:Client data does not send continuously!",
    "Client data did not arrive continuously.",
  ),
  "41020001": terminal(
    "Speech synthesis client error",
    "Speech synthesis client error; see the message for the engine's reason.",
  ),
  "50000000": transient("GRPC_ERROR:Grpc error!", "Server-side error caused by load or network; retry."),
  "50000001": transient("GRPC_ERROR:Grpc error!", "Internal gRPC error; retry."),
  "51020001": transient("TTS:TtsServerError", "TTS server error caused by load or network; retry."),
  "52010001": transient("GRPC_ERROR:Grpc error!", "Server-side error caused by load or network; retry."),
};

/** Sub-causes of 41020001, keyed by what appears in the upstream message (seed 000, "Speech synthesis error codes"). */
const ENGINE_41020001: ReadonlyArray<readonly [RegExp, string]> = [
  [/error code:\s*418/i, "Unsupported voice (speaker) name."],
  [/error code:\s*413/i, "The SSML is malformed."],
  [/error code:\s*424/i, "The background music or spliced recording does not have the required format."],
  [/Request json illegal/i, "The request JSON is invalid."],
  [
    /SSML text length should be less than 300/i,
    "The text is too long for short-text synthesis; use long-text synthesis.",
  ],
];

/** Looks a status code up in the seeds' table; refines 41020001 by its engine sub-code. */
export function describeNlsStatus(code: string | number, upstreamMessage = ""): NlsStatus | undefined {
  const entry = NLS_STATUS[String(code)];
  if (!entry || String(code) !== "41020001") return entry;
  const sub = ENGINE_41020001.find(([pattern]) => pattern.test(upstreamMessage));
  return sub ? { ...entry, explanation: sub[1] } : entry;
}

/** The seeds' retry rule for a code not in the table: server-side (5xxxxxxx) or throttling. */
export function isRetryableNlsCode(code: string | number): boolean {
  const known = NLS_STATUS[String(code)];
  if (known) return known.retryable;
  return /^5\d{7}$/.test(String(code));
}
