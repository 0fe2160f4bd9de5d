/**
 * The RAM API the deploy step calls (POP RPC, version 2015-05-01, ram.aliyuncs.com): GetRole, and
 * CreateServiceLinkedRole for the role through which EventBridge invokes Function Compute. A service-linked role is
 * made only this way (or by the console on first use); without it EventBridge delivers nothing to FC.
 */
import { RpcFault, type RpcHandler } from "../pop/server.js";

/** Each service-linked role this project needs: the service that uses it, and the role's name RAM gives it. */
export const SERVICE_LINKED_ROLES: Readonly<Record<string, string>> = {
  "sendevent-fc.eventbridge.aliyuncs.com": "AliyunServiceRoleForEventBridgeSendToFC",
};

export class RamService {
  readonly #roles = new Set<string>();

  has(roleName: string): boolean {
    return this.#roles.has(roleName);
  }

  actions(): Record<string, RpcHandler> {
    return {
      GetRole: ({ params }) => {
        const name = params.RoleName ?? "";
        if (!this.#roles.has(name)) throw new RpcFault(404, "EntityNotExist.Role", `The role not exists: ${name}.`);
        return { Role: { RoleName: name, Arn: `acs:ram::1:role/${name.toLowerCase()}` } };
      },
      CreateServiceLinkedRole: ({ params }) => {
        const name = SERVICE_LINKED_ROLES[params.ServiceName ?? ""];
        if (!name)
          throw new RpcFault(
            400,
            "InvalidParameter.ServiceName",
            `The service ${params.ServiceName} has no service-linked role.`,
          );
        if (this.#roles.has(name))
          throw new RpcFault(409, "EntityAlreadyExists.Role", `The role already exists: ${name}.`);
        this.#roles.add(name);
        return { Role: { RoleName: name, Arn: `acs:ram::1:role/${name.toLowerCase()}` } };
      },
    };
  }
}
