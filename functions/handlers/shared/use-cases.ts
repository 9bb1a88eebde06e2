/**
 * The use cases over this container's real adapters. A handler composes the one it runs,
 * `useCase(makeSendMessage)`, once per container: its bundle then holds that use case and what
 * it imports, not every other (esbuild keeps what a handler's imports reach).
 */
import { wirePorts, type WiredPorts } from '#core/use-cases/wiring';
import { container, once } from './container.ts';

const wired = once(() => wirePorts(container().ports));
const composed = new Map<(ports: WiredPorts) => unknown, unknown>();

/** The use case `make` builds, over the real ports; built on first use and kept. */
export function useCase<T>(make: (ports: WiredPorts) => T): T {
  if (!composed.has(make)) composed.set(make, make(wired()));
  return composed.get(make) as T;
}
