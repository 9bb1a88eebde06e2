/** The use cases over this container's real adapters, composed once. */
import { composeUseCases, type UseCases } from '#core/use-cases/index';
import { container } from './container.ts';

let composed: UseCases | undefined;

export function useCases(): UseCases {
  composed ??= composeUseCases(container().ports);
  return composed;
}
