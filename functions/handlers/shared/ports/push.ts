/**
 * Port group: SNS mobile push. Only the push queue's consumer imports it
 * (`import '#handlers/shared/ports/push';`).
 */
import { createSnsClient, makeSnsPushSender } from '#adapters/sns/push-sender';
import { providePorts } from '../container.ts';
import { loggerPort, traced } from '../observability.ts';

providePorts({
  name: 'push',
  build(config) {
    // Without a platform application a platform's devices are stored and nothing is sent to them.
    const pushSender = makeSnsPushSender({
      client: traced(createSnsClient(config)),
      applications: { apns: config.PUSH_APNS_APPLICATION_ARN, fcm: config.PUSH_FCM_APPLICATION_ARN },
      logger: loggerPort,
    });
    return { ports: { pushSender } };
  },
});
