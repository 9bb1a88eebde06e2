/** POST /devices: registers the caller's push token (201 new or moved to the caller, 200 already theirs). */
import { authorizedHttpHandler } from '#handlers/shared/http';
import { useCases } from '#handlers/shared/use-cases';
import { registerDeviceBody } from '#core/protocol';

export const handler = authorizedHttpHandler({ body: registerDeviceBody }, async ({ identity, body }) => {
  const { device, created } = await useCases().registerDevice({ identity, ...body });
  return { status: created ? 201 : 200, body: { device } };
});
