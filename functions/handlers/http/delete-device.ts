/** DELETE /devices/:deviceId: the owner forgets a device; nothing more is pushed to it. */
import { authorizedHttpHandler } from '#handlers/shared/http';
import { useCases } from '#handlers/shared/use-cases';
import { deviceIdParam } from '#core/protocol';

export const handler = authorizedHttpHandler({ params: deviceIdParam }, async ({ identity, params }) => {
  await useCases().deleteDevice({ identity, deviceId: params.deviceId });
  return { status: 204 };
});
