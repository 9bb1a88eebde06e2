/**
 * Applies pending migrations from prisma/migrations to DATABASE_URL.
 *
 *   DATABASE_URL=postgresql://user:pass@host:5432/chat npm run migrate
 *
 * Exits 1 with the migrator's message when it refuses (edited or missing migration, unresolved
 * failed attempt) or when a migration fails; a failed migration is rolled back completely.
 */
import { fileURLToPath } from 'node:url';
import { loadSettings } from '#config/settings';
import { applyMigrations, MigratorError } from '#adapters/postgres/migrator';

const migrationsDir = fileURLToPath(new URL('../prisma/migrations', import.meta.url));

async function main(): Promise<number> {
  const { DATABASE_URL } = loadSettings();
  if (!DATABASE_URL) {
    console.error('DATABASE_URL is not set; it names the database to migrate (postgresql://user:password@host:port/database).');
    return 1;
  }
  try {
    const applied = await applyMigrations({
      connectionString: DATABASE_URL,
      migrationsDir,
      log: (message) => console.log(message),
    });
    console.log(
      applied.length === 0
        ? 'Nothing to apply.'
        : `Applied ${applied.length} migration${applied.length === 1 ? '' : 's'}: ${applied.join(', ')}`,
    );
    return 0;
  } catch (error) {
    if (error instanceof MigratorError) {
      console.error(`${error.code}: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

process.exitCode = await main();
