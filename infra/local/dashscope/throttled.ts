/**
 * DashScope's answer over an account's rate quota: HTTP 429 with this code and message on its REST APIs, and
 * task-failed with them on its WebSocket (docs/sources.md, "DashScope error codes"; the message's wording [U]).
 */
export const THROTTLED = {
  code: "Throttling.RateQuota",
  message: "Requests rate limit exceeded, please try again later.",
} as const;
