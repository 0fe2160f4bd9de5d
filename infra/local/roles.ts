/**
 * The functions' RAM roles, locally: FC assumes a function's role and hands the code short-lived STS credentials, in
 * the environment at instance start and anew with every invocation (`context.credentials`) or, for a custom runtime,
 * every request (`x-fc-access-key-id`, `x-fc-access-key-secret`, `x-fc-security-token`). The environment is never
 * rewritten while the instance runs, so code that keeps its start-time credentials fails once they expire: here too.
 * The policy of every role is the one `npm run ram:policy` renders, so the emulators authorize each call against it.
 */
import type { Credentials } from "../../lib/credentials.js";
import type { AccessKey, AccessKeyRegistry } from "./access-keys.js";
import type { PolicyDocument } from "./ram/policy.js";

export class LocalRoles {
  readonly #current = new Map<string, AccessKey>();

  constructor(
    private readonly opts: {
      store: AccessKeyRegistry;
      userId: string;
      /** How long issued credentials live; a function gets new ones once half of that has passed. */
      ttlMs: number;
      now?: () => number;
    },
  ) {}

  /** The credentials FC would hand a function of `role` now: the ones it has while fresh, else new ones. */
  credentials(role: { name: string; policy: PolicyDocument }): Credentials {
    const now = this.opts.now?.() ?? Date.now();
    let key = this.#current.get(role.name);
    const fresh =
      key && this.opts.store.usable(key.accessKeyId) !== "expired" && key.expiresAt! - now > this.opts.ttlMs / 2;
    if (!key || !fresh) {
      key = this.opts.store.assumeRole(role, this.opts.userId, this.opts.ttlMs);
      this.#current.set(role.name, key);
    }
    return { accessKeyId: key.accessKeyId, accessKeySecret: key.accessKeySecret, securityToken: key.securityToken };
  }
}
