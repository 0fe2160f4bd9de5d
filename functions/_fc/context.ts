/**
 * FC's invocation context, as far as this project reads it (`context.requestId`, `context.credentials`), and the
 * adapters that hand its credentials to the clients before the handler runs.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Credentials, RoleCredentials } from "../../lib/credentials.js";

export interface FcContext {
  readonly requestId?: string;
  /** The function role's current STS credentials. */
  readonly credentials?: Partial<Credentials>;
}

/** Wraps an event handler so each invocation's credentials reach the clients before it runs. */
export function receivingCredentials<E, R>(
  role: () => RoleCredentials,
  handler: (event: E, context?: FcContext) => Promise<R>,
): (event: E, context?: FcContext) => Promise<R> {
  return (event, context) => {
    role().receive(context?.credentials);
    return handler(event, context);
  };
}

/** The headers in which FC hands a custom runtime the role's credentials with each request. */
const CREDENTIAL_HEADERS = {
  accessKeyId: "x-fc-access-key-id",
  accessKeySecret: "x-fc-access-key-secret",
  securityToken: "x-fc-security-token",
} as const;

/**
 * Takes the role's credentials out of a custom runtime's request: read, then removed from the headers (raw ones
 * too), so nothing downstream can log or relay them. Undefined when the request carries none.
 */
export function takeRequestCredentials(req: {
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
}): Partial<Credentials> | undefined {
  const read = (name: string): string | undefined => {
    const v = req.headers[name];
    return typeof v === "string" ? v : undefined;
  };
  const taken = {
    accessKeyId: read(CREDENTIAL_HEADERS.accessKeyId),
    accessKeySecret: read(CREDENTIAL_HEADERS.accessKeySecret),
    securityToken: read(CREDENTIAL_HEADERS.securityToken),
  };
  const names = new Set<string>(Object.values(CREDENTIAL_HEADERS));
  if (!Object.keys(req.headers).some((k) => names.has(k))) return undefined;
  for (const name of names) delete req.headers[name];
  for (let i = req.rawHeaders.length - 2; i >= 0; i -= 2)
    if (names.has(req.rawHeaders[i]!.toLowerCase())) req.rawHeaders.splice(i, 2);
  return taken;
}

/** The headers the local host sets on a custom runtime's request, as FC's front end does. */
export function credentialHeaders(c: Credentials): Record<string, string> {
  return {
    [CREDENTIAL_HEADERS.accessKeyId]: c.accessKeyId,
    [CREDENTIAL_HEADERS.accessKeySecret]: c.accessKeySecret,
    ...(c.securityToken ? { [CREDENTIAL_HEADERS.securityToken]: c.securityToken } : {}),
  };
}
