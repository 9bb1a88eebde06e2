/**
 * The database-migrations custom resource (CloudFormation, through the CDK Provider framework).
 * On Create and Update it applies the SQL migrations bundled beside this module (a copy of
 * prisma/migrations) through RDS Proxy; the stack updates the route functions only after it
 * succeeds. On Delete it does nothing: dropping a stack never drops the schema.
 *
 * Migrations are forward-only. When CloudFormation rolls a failed deployment back, it sends an
 * Update with the previous properties to the previous bundle, whose migrations directory lacks
 * the ones this deployment applied; a database that is only *ahead* of the bundle is accepted
 * then, so the rollback can finish (which is why migrations must stay backward compatible with
 * the code before them). Any other disagreement fails, as the migrator decides.
 */
import { fileURLToPath } from 'node:url';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import pg from 'pg';
import { applyMigrations, MigrationMissingError, MigratorError, readMigrationsDirectory } from '#adapters/postgres/migrator';
import { loadSettings, type Settings } from '#config/settings';

/** One physical resource for the life of the stack: the schema of the stack's database. */
export const PHYSICAL_RESOURCE_ID = 'database-migrations';

/** The folder the bundling step copies prisma/migrations to, next to the bundled module. */
const BUNDLED_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));

/** What the Provider framework expects back from an onEvent handler. */
export interface OnEventResponse {
  PhysicalResourceId: string;
  Data?: Record<string, string>;
}

export interface MigrateDependencies {
  settings?: Settings;
  migrationsDir?: string;
  /** Opens a connected client; by default from DATABASE_URL, or the proxy host and the secret. */
  connect?: (settings: Settings) => Promise<pg.Client>;
  log?: (message: string, details?: Record<string, unknown>) => void;
}

function jsonLog(message: string, details: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ level: 'INFO', message, ...details }));
}

/** A client on the database: DATABASE_URL when set (local runs), else RDS Proxy with the secret's credentials. */
export async function connectToDatabase(settings: Settings): Promise<pg.Client> {
  let config: pg.ClientConfig;
  if (settings.DATABASE_URL) {
    config = { connectionString: settings.DATABASE_URL };
  } else {
    if (!settings.DATABASE_HOST || !settings.DATABASE_SECRET_ARN) {
      throw new Error('DATABASE_HOST and DATABASE_SECRET_ARN (or DATABASE_URL) must be set');
    }
    const secrets = new SecretsManagerClient({ region: settings.AWS_REGION });
    const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: settings.DATABASE_SECRET_ARN }));
    const secret = JSON.parse(SecretString ?? '{}') as { username?: string; password?: string; port?: number };
    if (!secret.username || !secret.password) throw new Error('The database secret has no username or password');
    config = {
      host: settings.DATABASE_HOST,
      port: secret.port ?? 5432,
      user: secret.username,
      password: secret.password,
      database: settings.DATABASE_NAME,
      // RDS Proxy requires TLS; its certificate is issued by a public CA that Node trusts.
      ssl: { rejectUnauthorized: true },
      connectionTimeoutMillis: 10_000,
    };
  }
  const client = new pg.Client(config);
  client.on('error', () => {});
  await client.connect();
  return client;
}

/**
 * Whether every bundled migration is applied and everything else applied sorts after the newest
 * bundled one: the database is ahead of this bundle (a rollback), not diverged from it.
 */
async function databaseIsAhead(client: pg.ClientBase, migrationsDir: string): Promise<boolean> {
  const bundled = (await readMigrationsDirectory(migrationsDir)).map((migration) => migration.name);
  const { rows } = await client.query<{ migration_name: string }>(
    `SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
  );
  const applied = new Set(rows.map((row) => row.migration_name));
  const newestBundled = bundled.at(-1) ?? '';
  return bundled.every((name) => applied.has(name)) && [...applied].every((name) => bundled.includes(name) || name > newestBundled);
}

export function makeMigrateHandler(dependencies: MigrateDependencies = {}) {
  const log = dependencies.log ?? jsonLog;
  const migrationsDir = dependencies.migrationsDir ?? BUNDLED_MIGRATIONS_DIR;
  const connect = dependencies.connect ?? connectToDatabase;

  return async function migrate(event: CloudFormationCustomResourceEvent): Promise<OnEventResponse> {
    log('Migration custom resource event', { requestType: event.RequestType, logicalResourceId: event.LogicalResourceId });
    if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };

    const settings = dependencies.settings ?? loadSettings();
    const client = await connect(settings);
    try {
      try {
        const applied = await applyMigrations({ client, migrationsDir, log: (message) => log(message) });
        log(applied.length === 0 ? 'Database is up to date' : 'Applied migrations', { applied });
        return { PhysicalResourceId: PHYSICAL_RESOURCE_ID, Data: { Applied: applied.join(',') } };
      } catch (error) {
        if (error instanceof MigrationMissingError && event.RequestType === 'Update' && (await databaseIsAhead(client, migrationsDir))) {
          log('The database is ahead of this bundle (a rollback); leaving it as it is', { migration: error.migrationName });
          return { PhysicalResourceId: PHYSICAL_RESOURCE_ID, Data: { Applied: '' } };
        }
        if (error instanceof MigratorError) throw new Error(`${error.code}: ${error.message}`, { cause: error });
        throw error;
      }
    } finally {
      await client.end().catch(() => {});
    }
  };
}

export const handler = makeMigrateHandler();
