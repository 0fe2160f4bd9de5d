/**
 * Alibaba Cloud credentials as every client takes them: an AccessKey, with an STS token when they come from a role.
 * On Function Compute they are the function role's STS credentials, and they expire: FC puts them in the environment
 * when an instance starts and hands over current ones with every invocation (`context.credentials`) and, to a custom
 * runtime, with every request (`x-fc-access-key-id`, `x-fc-access-key-secret`, `x-fc-security-token`). It never
 * rewrites a running process's environment.
 */
export interface Credentials {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  /** STS token: FC's role credentials carry one. */
  readonly securityToken?: string;
}

/** Fixed credentials or a function returning the current ones (STS credentials rotate). */
export type CredentialsSource = Credentials | (() => Credentials | Promise<Credentials>);

/**
 * The role's credentials as FC last handed them over. Clients read `current` for every request, so an instance that
 * lives longer than one set of credentials goes on with the newest, never with those it started with.
 */
export class RoleCredentials {
  #current: Credentials;

  constructor(initial: Credentials) {
    this.#current = initial;
  }

  readonly current = (): Credentials => this.#current;

  /** Takes credentials FC handed over with an invocation or a request; incomplete ones are ignored. */
  receive(next: Partial<Credentials> | null | undefined): void {
    if (!next?.accessKeyId || !next.accessKeySecret) return;
    if (next.accessKeyId === this.#current.accessKeyId && next.securityToken === this.#current.securityToken) return;
    this.#current = {
      accessKeyId: next.accessKeyId,
      accessKeySecret: next.accessKeySecret,
      ...(next.securityToken ? { securityToken: next.securityToken } : {}),
    };
  }
}
