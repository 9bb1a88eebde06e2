/**
 * Generates the Prisma client into functions/adapters/postgres/generated.
 *
 * `prisma generate` does not use the schema engine, but the CLI looks for one at start and
 * tries to download it when it is missing, which fails without internet access. Pointing
 * PRISMA_SCHEMA_ENGINE_BINARY at any existing file skips that look-up.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? fileURLToPath(import.meta.url),
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
  CHECKPOINT_DISABLE: '1',
};
const result = spawnSync('npx', ['prisma', 'generate'], { cwd: root, env, stdio: 'inherit' });
process.exit(result.status ?? 1);
