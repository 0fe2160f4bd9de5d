/**
 * Asynchronous invocation of another function (FC 3.0's own queue, retries and destinations in the cloud; the local
 * host's equivalent locally), behind a port so lib never knows which.
 */
export interface Invoker {
  /** Queues `payload` for `functionName`; resolves once the platform has accepted it, not when it has run. */
  invokeAsync(functionName: string, payload: unknown): Promise<void>;
}
