/**
 * The project's own schema for the fc3 component's `props`, for the fields this project uses, written from the fc3
 * component's published JSON Schema (devsapp/fc3 src/schema.json): names, types, ranges and enums carry over. The `s`
 * CLI cannot download the component offline, so this is how s.yaml is validated in tests. Unknown fields are errors,
 * which catches typos the real component would reject.
 */
import { z } from "zod";

const REGIONS = [
  "ap-northeast-1",
  "ap-northeast-2",
  "ap-south-1",
  "ap-southeast-1",
  "ap-southeast-2",
  "ap-southeast-3",
  "ap-southeast-5",
  "ap-southeast-7",
  "cn-beijing",
  "cn-chengdu",
  "cn-hangzhou",
  "cn-hongkong",
  "cn-huhehaote",
  "cn-qingdao",
  "cn-shanghai",
  "cn-shenzhen",
  "cn-wulanchabu",
  "cn-zhangjiakou",
  "eu-central-1",
  "eu-west-1",
  "me-central-1",
  "us-east-1",
  "us-west-1",
] as const;
/** fc3's IRuntime enum, restricted to what this project deploys (nodejs22 is not in fc3's schema at 4ca1c1b). */
const RUNTIMES = ["nodejs18", "nodejs20", "custom", "custom.debian10", "custom.debian11", "custom.debian12"] as const;
const OSS_EVENTS = [
  "oss:ObjectCreated:*",
  "oss:ObjectCreated:AppendObject",
  "oss:ObjectCreated:CompleteMultipartUpload",
  "oss:ObjectCreated:CopyObject",
  "oss:ObjectCreated:InitiateMultipartUpload",
  "oss:ObjectCreated:PostObject",
  "oss:ObjectCreated:PutObject",
  "oss:ObjectCreated:PutSymlink",
  "oss:ObjectCreated:UploadPart",
  "oss:ObjectCreated:UploadPartCopy",
  "oss:ObjectModified:UpdateObjectMeta",
  "oss:ObjectRemoved:AbortMultipartUpload",
  "oss:ObjectRemoved:DeleteObject",
  "oss:ObjectRemoved:DeleteObjects",
] as const;

const HttpTrigger = z
  .object({
    triggerName: z.string().min(1),
    triggerType: z.literal("http"),
    description: z.string().optional(),
    qualifier: z.string().optional(),
    triggerConfig: z
      .object({
        authType: z.enum(["anonymous", "function", "jwt"]),
        disableURLInternet: z.boolean().optional(),
        methods: z.array(z.enum(["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"])).min(1),
      })
      .strict(),
  })
  .strict();

const OssTrigger = z
  .object({
    triggerName: z.string().min(1),
    triggerType: z.literal("oss"),
    description: z.string().optional(),
    sourceArn: z
      .string()
      .regex(/^acs:oss:[a-z0-9-]+:[^:]+:[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, "acs:oss:<region>:<account>:<bucket>"),
    invocationRole: z.string().optional(),
    qualifier: z.string().optional(),
    // fc3 requires both prefix and suffix (use '' for none).
    triggerConfig: z
      .object({
        events: z.array(z.enum(OSS_EVENTS)).min(1),
        filter: z.object({ key: z.object({ prefix: z.string(), suffix: z.string() }).strict() }).strict(),
      })
      .strict(),
  })
  .strict();

const TimerTrigger = z
  .object({
    triggerName: z.string().min(1),
    triggerType: z.literal("timer"),
    description: z.string().optional(),
    qualifier: z.string().optional(),
    triggerConfig: z
      .object({
        cronExpression: z
          .string()
          .regex(
            /^(@every \d+[smh]|(CRON_TZ=\S+ )?(\S+ ){5}\S+)$/,
            "a 6-field cron (seconds first) or @every <n><s|m|h>",
          ),
        enable: z.boolean(),
        payload: z
          .string()
          .max(128 * 1024)
          .optional(),
      })
      .strict(),
  })
  .strict();

const EventBridgeTrigger = z
  .object({
    triggerName: z.string().min(1),
    triggerType: z.literal("eventbridge"),
    description: z.string().optional(),
    qualifier: z.string().optional(),
    triggerConfig: z
      .object({
        triggerEnable: z.boolean(),
        asyncInvocationType: z.boolean(),
        eventRuleFilterPattern: z.string().refine((s) => {
          try {
            return typeof JSON.parse(s) === "object";
          } catch {
            return false;
          }
        }, "a JSON object as a string"),
        eventSourceConfig: z
          .object({
            eventSourceType: z.enum(["Default", "MNS", "RocketMQ", "RabbitMQ", "Kafka", "DTS"]),
            eventSourceParameters: z.record(z.string(), z.unknown()).optional(),
          })
          .strict(),
      })
      .strict(),
  })
  .strict();

export const Fc3PropsSchema = z
  .object({
    region: z.enum(REGIONS),
    functionName: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/, "1-64 letters, digits, '_' or '-', not starting with a digit or '-'"),
    description: z.string().max(256).optional(),
    runtime: z.enum(RUNTIMES),
    code: z.string().min(1),
    handler: z.string().regex(/^[\w.-]+\.[\w$]+$/, "file.method"),
    memorySize: z.number().int().min(128).max(32768).multipleOf(64),
    /** vCPU, a multiple of 0.05 from 0.05 to 16 (docs/sources.md, "ALIYUN::FC3::Function"). */
    cpu: z
      .number()
      .min(0.05)
      .max(16)
      .refine((v) => Math.abs(v * 20 - Math.round(v * 20)) < 1e-9, "a multiple of 0.05 vCPU")
      .optional(),
    /** The temporary disk (/tmp), in MB. */
    diskSize: z.union([z.literal(512), z.literal(10240)]).optional(),
    timeout: z.number().int().min(1).max(86400),
    instanceConcurrency: z.number().int().min(1).max(200).optional(),
    role: z.string().min(1),
    logConfig: z
      .union([
        z.literal("auto"),
        z
          .object({
            project: z.string(),
            logstore: z.string(),
            enableRequestMetrics: z.boolean().optional(),
            enableInstanceMetrics: z.boolean().optional(),
            logBeginRule: z.enum(["DefaultRegex", "None"]).optional(),
          })
          .strict(),
      ])
      .optional(),
    environmentVariables: z.record(z.string(), z.string()),
    customRuntimeConfig: z
      .object({
        command: z.array(z.string()).optional(),
        args: z.array(z.string()).optional(),
        port: z.number().int().min(1).max(65535).optional(),
      })
      .strict()
      .optional(),
    instanceLifecycleConfig: z
      .object({
        initializer: z
          .object({ handler: z.string(), timeout: z.number().int().min(1) })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    asyncInvokeConfig: z
      .object({
        maxAsyncRetryAttempts: z.number().int().min(0).max(8),
        maxAsyncEventAgeInSeconds: z.number().int().min(1).max(2592000),
        destinationConfig: z
          .object({
            onFailure: z.object({ destination: z.string() }).strict().optional(),
            onSuccess: z.object({ destination: z.string() }).strict().optional(),
          })
          .strict()
          .optional(),
        asyncTask: z.boolean().optional(),
      })
      .strict()
      .optional(),
    triggers: z
      .array(z.discriminatedUnion("triggerType", [HttpTrigger, OssTrigger, TimerTrigger, EventBridgeTrigger]))
      .optional(),
  })
  .strict()
  // vCPU against memory: between 1 GB and 4 GB of memory per vCPU.
  .refine((p) => p.cpu === undefined || (p.memorySize / 1024 >= p.cpu && p.memorySize / 1024 <= p.cpu * 4), {
    message: "cpu : memorySize (GB) must be between 1:1 and 1:4",
    path: ["cpu"],
  });
export type Fc3Props = z.infer<typeof Fc3PropsSchema>;
