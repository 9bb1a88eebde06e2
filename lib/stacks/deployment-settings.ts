/**
 * Deployment settings, read from CDK context (cdk.json, `-c key=value`) and validated once.
 * A wrong value fails `cdk synth` with the key's name, never a half-built stack.
 *
 * Every key and an example is listed in docs/operations.md.
 */
import type { Node } from 'constructs';
import { z } from 'zod';

/** Context values given with `-c key=value` arrive as strings; cdk.json may hold real booleans. */
const booleanish = z.preprocess((value) => {
  if (typeof value !== 'string') return value;
  const lowered = value.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(lowered)) return true;
  if (['false', '0', 'no'].includes(lowered)) return false;
  return value;
}, z.boolean());

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** A list from cdk.json (array) or from the command line (comma-separated string). */
const stringList = z.preprocess(
  (value) =>
    typeof value === 'string'
      ? value
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item.length > 0)
      : value,
  z.array(z.string().min(1)).min(1),
);

/** The retentions CloudWatch Logs accepts. */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/** An SNS platform application of one of `platforms` (a regular-expression alternation). */
const SNS_APPLICATION_ARN = (platforms: string) => new RegExp(`^arn:aws[\\w-]*:sns:[a-z0-9-]+:\\d{12}:app/(${platforms})/[\\w.-]{1,256}$`);

const optionalText = z.preprocess((value) => (value === '' ? undefined : value), z.string().min(1).optional());

const contextSchema = z
  .object({
    /** Names the deployment (dev, staging, prod): stack names, API stage, resource names. */
    stage: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,19}$/, 'lower-case letters, digits and dashes, starting with a letter, at most 20'),

    // Custom domain (optional): a regional ACM certificate covering both names.
    domainCertificateArn: optionalText.pipe(z.string().startsWith('arn:').optional()),
    httpDomainName: optionalText,
    webSocketDomainName: optionalText,

    // Identity: an external OIDC issuer, or (when authIssuer is unset) a Cognito user pool.
    authIssuer: optionalText.pipe(z.url().optional()),
    authAudience: stringList.optional(),
    authJwksUri: optionalText.pipe(z.url().optional()),
    authClaimUserId: optionalText,
    authClaimRole: optionalText,
    authClaimProviderId: optionalText,
    /**
     * Marketplace services (orders, bookings) calling the chat with client-credentials tokens.
     * With the stack's own user pool: `serviceClient` creates a resource server with the scope
     * `chat/service`, an app client for services, and the pool's domain (its `/oauth2/token`),
     * whose prefix is `serviceDomainPrefix` (default `<resource prefix>-<account>`). With an
     * external issuer: `authServiceScope` names the scope that issuer grants services.
     */
    serviceClient: booleanish.default(false),
    serviceDomainPrefix: optionalText.pipe(z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'lower-case letters, digits and dashes, at most 63').optional()),
    authServiceScope: optionalText.pipe(z.string().regex(/^\S+$/, 'one scope, without spaces').optional()),

    // Database.
    databaseInstanceType: z.string().regex(/^[a-z0-9]+\.[a-z0-9]+$/, 'an instance type such as t4g.micro').default('t4g.micro'),
    databaseMultiAz: booleanish.optional(),
    databaseAllocatedStorageGb: integer(20, 65_536).default(20),
    databaseMaxAllocatedStorageGb: integer(20, 65_536).default(100),
    databaseBackupRetentionDays: integer(1, 35).default(7),
    /** Estimated max_connections of the instance, for the connections alarm; derived from the size when unset. */
    databaseMaxConnections: integer(10, 100_000).optional(),
    /**
     * Days between automatic rotations of the database password; 0 (the default) leaves rotation
     * off, because the handlers read the password once per container.
     */
    databaseSecretRotationDays: integer(0, 365).default(0),
    deletionProtection: booleanish.optional(),

    // Network.
    natGateways: integer(1, 3).default(1),

    // APIs.
    corsAllowOrigins: stringList.default(['*']),
    /**
     * Origins of the web apps that upload to (presigned POST) and download from (presigned GET)
     * the attachments bucket directly: the bucket's CORS rule. Defaults to corsAllowOrigins. Only
     * browsers need it; the mobile apps send no Origin.
     */
    uploadOrigins: stringList.optional(),
    /**
     * Whether this stack sets API Gateway's account-wide CloudWatch Logs role, which WebSocket
     * access logging needs. Only one stack per account and region should own it.
     */
    apiGatewayAccountRole: booleanish.default(true),

    // Push: SNS platform applications made with the APNs key or certificate and the FCM service
    // account (their credentials never pass through this stack). Either may be missing: that
    // platform's devices are stored and nothing is sent to them.
    pushApnsApplicationArn: optionalText.pipe(z.string().regex(SNS_APPLICATION_ARN('APNS|APNS_SANDBOX'), 'an SNS platform application ARN (arn:aws:sns:<region>:<account>:app/APNS/<name>, or APNS_SANDBOX)').optional()),
    pushFcmApplicationArn: optionalText.pipe(z.string().regex(SNS_APPLICATION_ARN('GCM'), 'an SNS platform application ARN (arn:aws:sns:<region>:<account>:app/GCM/<name>)').optional()),

    // Signed webhooks: the receiver's URL. Unset: no event goes to the webhooks queue. The signing
    // secret is generated in Secrets Manager by the stateful stack (output WebhookSecretArn).
    webhookUrl: optionalText.pipe(z.url({ protocol: /^https$/ }).optional()),

    // Observability.
    alarmEmail: optionalText.pipe(z.email().optional()),
    metricsNamespace: z.string().min(1).default('ProviderCustomerChat'),
    logRetentionDays: z.coerce
      .number()
      .int()
      .refine((days) => LOG_RETENTION_DAYS.includes(days), `one of CloudWatch Logs' retentions: ${LOG_RETENTION_DAYS.join(', ')}`)
      .default(30),
  })
  .superRefine((value, context) => {
    const domainKeys = [value.domainCertificateArn, value.httpDomainName, value.webSocketDomainName];
    if (domainKeys.some(Boolean) && !value.domainCertificateArn) {
      context.addIssue({ code: 'custom', path: ['domainCertificateArn'], message: 'required when a custom domain name is set' });
    }
    if (value.domainCertificateArn && !value.httpDomainName && !value.webSocketDomainName) {
      context.addIssue({
        code: 'custom',
        path: ['httpDomainName'],
        message: 'set httpDomainName and/or webSocketDomainName with domainCertificateArn',
      });
    }
    if (value.authIssuer && !value.authAudience) {
      context.addIssue({ code: 'custom', path: ['authAudience'], message: 'required with authIssuer' });
    }
    if (!value.authIssuer && (value.authAudience || value.authJwksUri)) {
      context.addIssue({ code: 'custom', path: ['authIssuer'], message: 'authAudience/authJwksUri need authIssuer' });
    }
    if (value.authIssuer && (value.serviceClient || value.serviceDomainPrefix)) {
      context.addIssue({ code: 'custom', path: ['serviceClient'], message: "needs the stack's own user pool (authIssuer unset); with an external issuer set authServiceScope" });
    }
    if (!value.serviceClient && value.serviceDomainPrefix) {
      context.addIssue({ code: 'custom', path: ['serviceDomainPrefix'], message: 'only with serviceClient' });
    }
    if (!value.authIssuer && value.authServiceScope) {
      context.addIssue({ code: 'custom', path: ['authServiceScope'], message: `needs authIssuer; the stack's own user pool uses serviceClient (scope ${SERVICE_SCOPE})` });
    }
    if (value.databaseMaxAllocatedStorageGb < value.databaseAllocatedStorageGb) {
      context.addIssue({
        code: 'custom',
        path: ['databaseMaxAllocatedStorageGb'],
        message: 'must be at least databaseAllocatedStorageGb',
      });
    }
  });

export const CONTEXT_KEYS = Object.keys(contextSchema.shape) as (keyof z.input<typeof contextSchema>)[];

/** The claim names API Gateway and the handlers read identity from. */
export interface ClaimNames {
  userId: string;
  role: string;
  providerId: string;
}

/** The resource server and scope of the stack's own user pool for services' client-credentials tokens. */
export const SERVICE_RESOURCE_SERVER = 'chat';
export const SERVICE_SCOPE_NAME = 'service';
export const SERVICE_SCOPE = `${SERVICE_RESOURCE_SERVER}/${SERVICE_SCOPE_NAME}`;

export type Identity =
  | { kind: 'cognito'; claims: ClaimNames; serviceClient?: { domainPrefix?: string } }
  | { kind: 'external'; issuer: string; audience: string[]; jwksUri?: string; claims: ClaimNames; serviceScope?: string };

export interface CustomDomain {
  certificateArn: string;
  httpDomainName?: string;
  webSocketDomainName?: string;
}

export interface DeploymentSettings {
  stage: string;
  /** Whether this is a production-like deployment: stricter defaults for protection and availability. */
  production: boolean;
  customDomain?: CustomDomain;
  identity: Identity;
  database: {
    instanceType: string;
    multiAz: boolean;
    allocatedStorageGb: number;
    maxAllocatedStorageGb: number;
    backupRetentionDays: number;
    maxConnections?: number;
    secretRotationDays: number;
  };
  /** Deletion protection on the database and user pool, and RETAIN/SNAPSHOT removal policies. */
  deletionProtection: boolean;
  natGateways: number;
  corsAllowOrigins: string[];
  /** The attachments bucket's CORS origins (context `uploadOrigins`, else corsAllowOrigins). */
  uploadOrigins: string[];
  apiGatewayAccountRole: boolean;
  /** SNS platform applications per push platform; a missing one means that platform is not pushed to. */
  push: { apnsApplicationArn?: string; fcmApplicationArn?: string };
  /** Where signed webhooks go; unset: none are sent. */
  webhookUrl?: string;
  alarmEmail?: string;
  metricsNamespace: string;
  logRetentionDays: number;
}

const PRODUCTION_STAGES = new Set(['prod', 'production']);

/** Cognito puts custom attributes in the ID token under `custom:<name>`. */
const COGNITO_CLAIMS: ClaimNames = { userId: 'custom:userId', role: 'custom:role', providerId: 'custom:providerId' };
/** The contract's default claim names (functions/config/settings.ts). */
const DEFAULT_CLAIMS: ClaimNames = { userId: 'userId', role: 'role', providerId: 'providerId' };

export class DeploymentSettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid CDK context: ${problems.join('; ')}`);
    this.name = 'DeploymentSettingsError';
  }
}

/** Parses the settings from a plain object of context values (tests pass one directly). */
export function parseDeploymentSettings(context: Record<string, unknown>): DeploymentSettings {
  const present = Object.fromEntries(Object.entries(context).filter(([, value]) => value !== undefined && value !== null));
  const parsed = contextSchema.safeParse({ stage: 'dev', ...present });
  if (!parsed.success) {
    throw new DeploymentSettingsError(parsed.error.issues.map((issue) => `${issue.path.join('.') || '(context)'}: ${issue.message}`));
  }
  const value = parsed.data;
  const production = PRODUCTION_STAGES.has(value.stage);
  const claimOverrides = {
    ...(value.authClaimUserId ? { userId: value.authClaimUserId } : {}),
    ...(value.authClaimRole ? { role: value.authClaimRole } : {}),
    ...(value.authClaimProviderId ? { providerId: value.authClaimProviderId } : {}),
  };
  const identity: Identity = value.authIssuer
    ? {
        kind: 'external',
        issuer: value.authIssuer,
        audience: value.authAudience ?? [],
        ...(value.authJwksUri ? { jwksUri: value.authJwksUri } : {}),
        claims: { ...DEFAULT_CLAIMS, ...claimOverrides },
        ...(value.authServiceScope ? { serviceScope: value.authServiceScope } : {}),
      }
    : {
        kind: 'cognito',
        claims: { ...COGNITO_CLAIMS, ...claimOverrides },
        ...(value.serviceClient ? { serviceClient: value.serviceDomainPrefix ? { domainPrefix: value.serviceDomainPrefix } : {} } : {}),
      };

  return {
    stage: value.stage,
    production,
    ...(value.domainCertificateArn
      ? {
          customDomain: {
            certificateArn: value.domainCertificateArn,
            ...(value.httpDomainName ? { httpDomainName: value.httpDomainName } : {}),
            ...(value.webSocketDomainName ? { webSocketDomainName: value.webSocketDomainName } : {}),
          },
        }
      : {}),
    identity,
    database: {
      instanceType: value.databaseInstanceType,
      multiAz: value.databaseMultiAz ?? production,
      allocatedStorageGb: value.databaseAllocatedStorageGb,
      maxAllocatedStorageGb: value.databaseMaxAllocatedStorageGb,
      backupRetentionDays: value.databaseBackupRetentionDays,
      ...(value.databaseMaxConnections ? { maxConnections: value.databaseMaxConnections } : {}),
      secretRotationDays: value.databaseSecretRotationDays,
    },
    deletionProtection: value.deletionProtection ?? production,
    natGateways: value.natGateways,
    corsAllowOrigins: value.corsAllowOrigins,
    uploadOrigins: value.uploadOrigins ?? value.corsAllowOrigins,
    apiGatewayAccountRole: value.apiGatewayAccountRole,
    push: {
      ...(value.pushApnsApplicationArn ? { apnsApplicationArn: value.pushApnsApplicationArn } : {}),
      ...(value.pushFcmApplicationArn ? { fcmApplicationArn: value.pushFcmApplicationArn } : {}),
    },
    ...(value.webhookUrl ? { webhookUrl: value.webhookUrl } : {}),
    ...(value.alarmEmail ? { alarmEmail: value.alarmEmail } : {}),
    metricsNamespace: value.metricsNamespace,
    logRetentionDays: value.logRetentionDays,
  };
}

/** Reads every known key from the construct tree's context (the App's). */
export function readDeploymentSettings(node: Node): DeploymentSettings {
  return parseDeploymentSettings(Object.fromEntries(CONTEXT_KEYS.map((key) => [key, node.tryGetContext(key)])));
}
