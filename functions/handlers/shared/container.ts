/**
 * The composition root: the real adapters, built once per Lambda container (and once per local
 * runtime process) and only when a handler first needs them. Handlers take what they need from
 * here and pass it to use cases as ports.
 *
 * The adapters come in port groups, one module each under ./ports/, so that a function's bundle
 * holds only the adapters its route uses (esbuild keeps whatever a handler's imports reach, and
 * Prisma alone is megabytes):
 *
 *   ports/realtime.ts   DynamoDB (connections, subscriptions, presence, typing) and
 *                       posting to WebSocket connections: every WebSocket function (ws.ts imports
 *                       it) and every function that delivers to connections
 *   ports/auth.ts       the token verifier: $connect, authenticate and the $default shim
 *   ports/postgres.ts   the Postgres stores over Prisma (credentials from Secrets Manager in AWS)
 *                       and, because committed changes are published, ports/queues.ts: every
 *                       route whose `database` flag is true in functions/config/routes.ts
 *   ports/queues.ts     SQS: the events queue, the consumers' queues, the webhooks queue
 *   ports/push.ts       SNS mobile push
 *   ports/webhooks.ts   the webhook receiver's HTTP sender and signing secret
 *   ports/storage.ts    the attachments bucket (S3): the attachment routes, their sweep and
 *                       their processor
 *   ports/media.ts      sharp, file-type and the HEIC decoder: the attachments' processor only
 *
 * How a new handler gets its ports: import the group modules its route needs, once, for their
 * effect (`import '#handlers/shared/ports/postgres';`), then use `useCase(makeX)` or `container()` as
 * before. A port whose group the function does not import fails when called, with an
 * UnavailableError that names the module to import. tests/infra/bundle-budgets.test.ts checks that
 * a route's `database` flag and its bundle agree, and the bundles' size budgets.
 */
import { settings, type Settings } from '#config/settings';
import { systemClock } from '#core/ports';
import { UnavailableError } from '#core/errors';
import type { UseCasePorts } from '#core/use-cases/wiring';
import type { PrismaClient } from '#adapters/postgres/prisma-client';
import { loggerPort, metricsPort } from './observability.ts';

/** Every port, made real, under the names the use cases take them by. */
export type Ports = UseCasePorts;
export type PortName = keyof Ports;

/** The ports every function has: its settings, the clock, metrics and logs. */
type CorePortName = 'limits' | 'clock' | 'metrics' | 'logger';

/** Every port a group provides (checked complete against UseCasePorts: a new port is added here). */
const GROUP_PORTS = {
  conversations: 'postgres',
  messages: 'postgres',
  changes: 'postgres',
  reports: 'postgres',
  search: 'postgres',
  statistics: 'postgres',
  pushRegistry: 'postgres',
  events: 'queues',
  forwarder: 'queues',
  webhookQueue: 'queues',
  connections: 'realtime',
  subscriptions: 'realtime',
  presence: 'realtime',
  typing: 'realtime',
  broadcaster: 'realtime',
  verifier: 'auth',
  pushSender: 'push',
  webhookSender: 'webhooks',
  webhookSecret: 'webhooks',
  attachments: 'postgres',
  storage: 'storage',
  media: 'media',
} as const satisfies Record<Exclude<PortName, CorePortName>, string>;
type GroupPortName = keyof typeof GROUP_PORTS;

/** What a port group builds from the settings. */
export interface PortGroupBuild {
  ports: Partial<Pick<Ports, GroupPortName>>;
  /** The Prisma client, from the Postgres group (readiness checks, closing the pool). */
  prisma?: () => Promise<PrismaClient>;
}

export interface PortGroup {
  /** The module's name under ./ports/, for the error a missing group gives. */
  name: string;
  build(config: Settings): PortGroupBuild;
}

const registered = new Map<string, PortGroup>();

/** Called once by each group module when it is imported: the group's ports join the container. */
export function providePorts(group: PortGroup): void {
  if (!registered.has(group.name)) registered.set(group.name, group);
}

export interface Container {
  settings: Settings;
  /** The Prisma client (for readiness checks); needs the Postgres group. */
  prisma(): Promise<PrismaClient>;
  ports: Ports;
}

/** Builds `build` once, on first use. */
export function once<T>(build: () => T): () => T {
  let value: T | undefined;
  let built = false;
  return () => {
    if (!built) {
      value = build();
      built = true;
    }
    return value as T;
  };
}

/**
 * A port whose adapter is built on first use: every method waits for it. Lets functions skip
 * resolving credentials (Postgres) or configuration they never use.
 */
export function deferred<T extends object>(load: () => Promise<T>): T {
  return new Proxy({} as T, {
    get: (_target, method) => async (...args: unknown[]) => {
      const port = (await load()) as Record<PropertyKey, (...a: unknown[]) => unknown>;
      return port[method]!(...args);
    },
  });
}

export function buildContainer(config: Settings = settings()): Container {
  const built = new Map<string, PortGroupBuild>();
  const groupBuild = (name: string): PortGroupBuild | undefined => {
    let result = built.get(name);
    if (!result) {
      const group = registered.get(name);
      if (!group) return undefined;
      result = group.build(config);
      built.set(name, result);
    }
    return result;
  };
  const resolve = <K extends GroupPortName>(name: K): Ports[K] => {
    const group = GROUP_PORTS[name];
    const port = groupBuild(group)?.ports[name];
    if (!port) {
      throw new UnavailableError(`The ${name} port is not composed into this function: its handler imports '#handlers/shared/ports/${group}'`);
    }
    return port as Ports[K];
  };
  // A group's port is looked up when a method is called, not when the use cases are composed,
  // so a group module imported after the container was built (one local runtime process loads
  // its handlers one by one) still serves every use case composed before.
  const bound = <K extends GroupPortName>(name: K): Ports[K] =>
    new Proxy({} as Ports[K], {
      get: (_target, method) => {
        if (method === 'then') return undefined;
        const port = resolve(name) as unknown as Record<PropertyKey, unknown>;
        const value = port[method];
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(port) : value;
      },
    });
  const groupPorts = Object.fromEntries((Object.keys(GROUP_PORTS) as GroupPortName[]).map((name) => [name, bound(name)]));
  return {
    settings: config,
    prisma: async () => {
      const prisma = groupBuild('postgres')?.prisma;
      if (!prisma) throw new UnavailableError("Postgres is not composed into this function: its handler imports '#handlers/shared/ports/postgres'");
      return prisma();
    },
    ports: {
      ...(groupPorts as Pick<Ports, GroupPortName>),
      limits: config,
      clock: systemClock,
      metrics: metricsPort,
      logger: loggerPort,
    },
  };
}

export { metricsPort as metrics, loggerPort as log };

let current: Container | undefined;

/** This container's adapters, built on first use. */
export function container(): Container {
  current ??= buildContainer();
  return current;
}
