/** GET /devices: the caller's own devices, tokens shown by their last characters only. */
import { authorizedHttpHandler } from '#handlers/shared/http';
import { useCases } from '#handlers/shared/use-cases';

export const handler = authorizedHttpHandler({}, async ({ identity }) => ({
  status: 200,
  body: await useCases().listDevices({ identity }),
}));
