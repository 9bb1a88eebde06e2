/**
 * Builds a PrismaClient on the node-postgres driver adapter (Prisma 7's Rust-free client).
 * Handlers create one per container at module scope; tests create one per test database.
 */
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '#adapters/postgres/generated/client';

export { PrismaClient };

export interface CreatePrismaClientOptions {
  /**
   * The most connections the client's pool opens. Keep it small in Lambda: one container
   * serves one request at a time, and RDS Proxy multiplexes the rest.
   */
  poolSize?: number;
}

/** A PrismaClient for `connectionString`. It connects lazily, on its first query. */
export function createPrismaClient(connectionString: string, options: CreatePrismaClientOptions = {}): PrismaClient {
  const adapter = new PrismaPg({
    connectionString,
    ...(options.poolSize === undefined ? {} : { max: options.poolSize }),
  });
  return new PrismaClient({ adapter });
}
