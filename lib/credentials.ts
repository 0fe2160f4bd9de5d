/**
 * Alibaba Cloud credentials as every client takes them: an AccessKey, with an STS token when they come from a role
 * (FC injects the function role's STS triple into the environment, and rotates it).
 */
export interface Credentials {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  /** STS token: FC's role credentials carry one. */
  readonly securityToken?: string;
}

/** Fixed credentials or a function returning the current ones (STS credentials rotate). */
export type CredentialsSource = Credentials | (() => Credentials | Promise<Credentials>);
