/** GET /health: readiness. 200 once Postgres and DynamoDB answer, 503 otherwise. No auth. */
import { publicHttpHandler, json } from '#handlers/shared/http';
import { log } from '#handlers/shared/container';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/realtime';

const CHECK_TIMEOUT_MS = 3000;

async function check(name: string, probe: () => Promise<unknown>): Promise<[string, 'ok' | 'unavailable']> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${name} did not answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return [name, 'ok'];
  } catch (error) {
    log.warn('health check failed', { check: name, error: error instanceof Error ? error.message : String(error) });
    return [name, 'unavailable'];
  } finally {
    clearTimeout(timer);
  }
}

export const handler = publicHttpHandler({}, async ({ container }) => {
  const results = await Promise.all([
    check('postgres', async () => (await container.prisma()).$queryRaw`SELECT 1`),
    check('dynamodb', () => container.ports.connections.get('health-check')),
  ]);
  const checks = Object.fromEntries(results);
  const healthy = results.every(([, state]) => state === 'ok');
  return json(healthy ? 200 : 503, healthy ? { status: 'ok' } : { status: 'unavailable', checks });
});
