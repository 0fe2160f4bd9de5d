/**
 * EventBridge invokes Function Compute through the service-linked role `AliyunServiceRoleForEventBridgeSendToFC`. The
 * console makes it on first use; a deployment through the API must make it: RAM `CreateServiceLinkedRole` with the
 * service name `sendevent-fc.eventbridge.aliyuncs.com`, once per account. This checks with `GetRole` and makes it when
 * it is missing; the deploying identity needs `ram:GetRole` and `ram:CreateServiceLinkedRole`.
 */
import { PopRpcClient, PopRpcError } from "../../lib/providers/pop-rpc.js";

export const EVENTBRIDGE_TO_FC = {
  roleName: "AliyunServiceRoleForEventBridgeSendToFC",
  serviceName: "sendevent-fc.eventbridge.aliyuncs.com",
} as const;

/** Makes the role if it is missing; answers what it did, for the deploy log. */
export async function ensureServiceLinkedRole(ram: PopRpcClient): Promise<string | undefined> {
  try {
    await ram.request("GetRole", { RoleName: EVENTBRIDGE_TO_FC.roleName });
    return undefined;
  } catch (error) {
    if (!(error instanceof PopRpcError) || error.code !== "EntityNotExist.Role") throw error;
  }
  try {
    await ram.request("CreateServiceLinkedRole", { ServiceName: EVENTBRIDGE_TO_FC.serviceName });
  } catch (error) {
    // Made meanwhile by another deploy or the console: the role exists, which is all that matters.
    if (!(error instanceof PopRpcError) || error.code !== "EntityAlreadyExists.Role") throw error;
  }
  return `created service-linked role ${EVENTBRIDGE_TO_FC.roleName} (EventBridge → Function Compute)`;
}

/** RAM's POP RPC client: one global endpoint, version 2015-05-01. */
export function ramClient(opts: {
  endpoint?: string;
  credentials: { accessKeyId: string; accessKeySecret: string; securityToken?: string };
}): PopRpcClient {
  return new PopRpcClient({
    endpoint: opts.endpoint ?? "https://ram.aliyuncs.com",
    apiVersion: "2015-05-01",
    credentials: opts.credentials,
  });
}
