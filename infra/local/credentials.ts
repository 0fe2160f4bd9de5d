/** Who may call the local cloud: AccessKey pairs (optionally STS, with their security token), as Alibaba would know them. */
export interface AccessKey {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  /** Set for STS credentials: requests must carry this token. */
  readonly securityToken?: string;
  /** Account (UID) the key belongs to; NLS compares it with the AppKey's owner. */
  readonly userId: string;
}

export class CredentialStore {
  readonly #keys = new Map<string, AccessKey>();

  constructor(keys: readonly AccessKey[]) {
    for (const key of keys) this.#keys.set(key.accessKeyId, key);
  }

  get(accessKeyId: string): AccessKey | undefined {
    return this.#keys.get(accessKeyId);
  }

  add(key: AccessKey): void {
    this.#keys.set(key.accessKeyId, key);
  }
}
