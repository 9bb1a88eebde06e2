/**
 * Applies prisma/migrations to the database on deployment: a custom resource (CDK Provider
 * framework) whose handler, functions/handlers/custom-resources/migrate.ts, runs the project's
 * migrator through RDS Proxy. The SQL files are copied into the function's bundle, and a hash of
 * the migrations folder is a property of the resource, so CloudFormation calls it again exactly
 * when a migration is added (or changed, which the migrator then refuses).
 *
 * Make the functions that need the new schema depend on this construct so that they are updated
 * only after the migrations succeeded.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CustomResource, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IDatabaseProxy } from 'aws-cdk-lib/aws-rds';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Provider } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { ChatFunction, PROJECT_ROOT, type ChatFunctionNetwork } from './chat-function.ts';
import { nagResource } from './nag.ts';

export const MIGRATIONS_DIR = path.join(PROJECT_ROOT, 'prisma', 'migrations');

/** The migration handler, as a manifest-style entry under functions/handlers. */
export const MIGRATE_ENTRY = 'custom-resources/migrate';

/**
 * sha256 over every file in the folder (relative path and content, in a stable order), so the
 * hash changes when a migration is added, renamed or edited, and nothing else changes it.
 */
export function hashDirectory(directory: string): string {
  const hash = createHash('sha256');
  const walk = (relative: string): void => {
    const entries = readdirSync(path.join(directory, relative), { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const entry of entries) {
      const child = path.posix.join(relative, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) {
        hash.update(`${child}\0`);
        hash.update(readFileSync(path.join(directory, child)));
        hash.update('\0');
      }
    }
  };
  walk('');
  return hash.digest('hex');
}

export interface DatabaseMigrationsProps {
  network: ChatFunctionNetwork;
  proxy: IDatabaseProxy;
  secret: ISecret;
  databaseName: string;
  serviceName: string;
  metricsNamespace: string;
  logRetention: logs.RetentionDays;
  /** @default prisma/migrations */
  migrationsDir?: string;
}

export class DatabaseMigrations extends Construct {
  readonly handler: ChatFunction;
  readonly provider: Provider;
  readonly resource: CustomResource;
  /** The hash of the migrations folder this synthesis saw. */
  readonly migrationsHash: string;

  constructor(scope: Construct, id: string, props: DatabaseMigrationsProps) {
    super(scope, id);
    const migrationsDir = props.migrationsDir ?? MIGRATIONS_DIR;
    this.migrationsHash = hashDirectory(migrationsDir);
    const relativeMigrations = path.relative(PROJECT_ROOT, migrationsDir);

    this.handler = new ChatFunction(this, 'Handler', {
      entry: MIGRATE_ENTRY,
      description: 'Applies prisma/migrations through RDS Proxy (CloudFormation custom resource)',
      memorySize: 512,
      // One long migration must not time out halfway; the migrator waits up to 60 s for its lock.
      timeout: Duration.minutes(10),
      serviceName: props.serviceName,
      metricsNamespace: props.metricsNamespace,
      logRetention: props.logRetention,
      network: props.network,
      commandHooks: {
        beforeBundling: () => [],
        beforeInstall: () => [],
        // The migrator reads the SQL from disk at run time: ship the folder beside index.mjs.
        afterBundling: (inputDir: string, outputDir: string) => [
          `cp -R "${path.posix.join(inputDir, relativeMigrations.split(path.sep).join('/'))}" "${outputDir}/migrations"`,
        ],
      },
    });
    this.handler.bindDatabase(props.proxy, props.secret, props.databaseName);

    const providerLogs = new logs.LogGroup(this, 'ProviderLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.provider = new Provider(this, 'Provider', {
      onEventHandler: this.handler.function,
      logGroup: providerLogs,
    });

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: this.provider.serviceToken,
      resourceType: 'Custom::DatabaseMigrations',
      properties: {
        MigrationsHash: this.migrationsHash,
        // Referenced so the resource waits for the proxy and re-runs if the database moves.
        DatabaseHost: props.proxy.endpoint,
        DatabaseName: props.databaseName,
      },
    });

    Validations.of(this.provider).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: "The CDK Provider framework's function only writes its own logs with the AWS-maintained basic execution policy.",
      },
      {
        id: `AwsSolutions-IAM5[Resource::${nagResource(this, `${this.handler.function.functionArn}:*`)}]`,
        reason: 'The Provider framework may invoke any version of the migration handler, and only that function.',
      },
    );
  }
}
