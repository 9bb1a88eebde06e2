/**
 * The local SNS against the real @aws-sdk/client-sns: platform applications, endpoints and
 * publishing to them as SNS documents it (idempotent endpoints, Enabled, MessageStructure=json,
 * the exact errors), as the SDK sees it.
 */
import {
  CreatePlatformApplicationCommand,
  CreatePlatformEndpointCommand,
  DeleteEndpointCommand,
  DeletePlatformApplicationCommand,
  EndpointDisabledException,
  GetEndpointAttributesCommand,
  GetPlatformApplicationAttributesCommand,
  InvalidParameterException,
  ListEndpointsByPlatformApplicationCommand,
  ListPlatformApplicationsCommand,
  ListTopicsCommand,
  NotFoundException,
  PublishCommand,
  SetEndpointAttributesCommand,
  SNSClient,
} from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSnsEmulator, type SnsEmulator } from '#lib/local/sns';

let sns: SnsEmulator;
let client: SNSClient;
let counter = 0;

beforeAll(async () => {
  sns = await startSnsEmulator();
  client = new SNSClient({ endpoint: sns.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'any', secretAccessKey: 'any' }, maxAttempts: 1 });
});

afterAll(async () => {
  client?.destroy();
  await sns?.stop();
});

/** A fresh platform application, through the SDK. */
async function application(platform: 'APNS' | 'APNS_SANDBOX' | 'GCM' = 'GCM') {
  const name = `app${++counter}`;
  const { PlatformApplicationArn } = await client.send(
    new CreatePlatformApplicationCommand({ Name: name, Platform: platform, Attributes: { PlatformCredential: 'secret', SuccessFeedbackSampleRate: '100' } }),
  );
  return { name, arn: PlatformApplicationArn! };
}

/** A fresh endpoint on a fresh application. */
async function endpoint(platform: 'APNS' | 'APNS_SANDBOX' | 'GCM' = 'GCM', customUserData?: string) {
  const app = await application(platform);
  const token = `token-${++counter}`;
  const { EndpointArn } = await client.send(new CreatePlatformEndpointCommand({ PlatformApplicationArn: app.arn, Token: token, CustomUserData: customUserData }));
  return { app, token, arn: EndpointArn! };
}

const attributesOf = async (arn: string) => (await client.send(new GetEndpointAttributesCommand({ EndpointArn: arn }))).Attributes;
const lastPush = () => sns.published().at(-1)!;

describe('local SNS: platform applications', () => {
  it('creates applications with SNS ARNs, shows their attributes without credentials, lists and deletes them', async () => {
    const app = await application('APNS_SANDBOX');
    expect(app.arn).toBe(`arn:aws:sns:us-east-1:000000000000:app/APNS_SANDBOX/${app.name}`);
    const { Attributes } = await client.send(new GetPlatformApplicationAttributesCommand({ PlatformApplicationArn: app.arn }));
    expect(Attributes).toEqual({ Enabled: 'true', SuccessFeedbackSampleRate: '100' });

    const listed = await client.send(new ListPlatformApplicationsCommand({}));
    expect(listed.PlatformApplications?.map((item) => item.PlatformApplicationArn)).toContain(app.arn);

    const { EndpointArn } = await client.send(new CreatePlatformEndpointCommand({ PlatformApplicationArn: app.arn, Token: 'to-be-deleted' }));
    await client.send(new DeletePlatformApplicationCommand({ PlatformApplicationArn: app.arn }));
    await expect(client.send(new GetPlatformApplicationAttributesCommand({ PlatformApplicationArn: app.arn }))).rejects.toBeInstanceOf(NotFoundException);
    // Deleting an application deletes its endpoints.
    expect(sns.endpoints().map((item) => item.arn)).not.toContain(EndpointArn);
    await expect(client.send(new DeletePlatformApplicationCommand({ PlatformApplicationArn: app.arn }))).resolves.toBeDefined();
  });

  it('pages ListPlatformApplications by 15 with NextToken', async () => {
    const local = await startSnsEmulator();
    const other = new SNSClient({ endpoint: local.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'any', secretAccessKey: 'any' } });
    try {
      for (let i = 0; i < 17; i++) local.platformApplication(`paged${i}`, 'GCM');
      const first = await other.send(new ListPlatformApplicationsCommand({}));
      expect(first.PlatformApplications).toHaveLength(15);
      const second = await other.send(new ListPlatformApplicationsCommand({ NextToken: first.NextToken }));
      expect(second.PlatformApplications?.map((item) => item.PlatformApplicationArn)).toEqual([
        'arn:aws:sns:us-east-1:000000000000:app/GCM/paged15',
        'arn:aws:sns:us-east-1:000000000000:app/GCM/paged16',
      ]);
      expect(second.NextToken).toBeUndefined();
    } finally {
      other.destroy();
      await local.stop();
    }
  });

  it('configures applications without the SDK, idempotently', async () => {
    const arn = sns.platformApplication('runtime-app', 'APNS');
    expect(arn).toBe('arn:aws:sns:us-east-1:000000000000:app/APNS/runtime-app');
    expect(sns.platformApplication('runtime-app', 'APNS')).toBe(arn);
    const { Attributes } = await client.send(new GetPlatformApplicationAttributesCommand({ PlatformApplicationArn: arn }));
    expect(Attributes).toEqual({ Enabled: 'true' });
  });

  it('refuses platforms it does not emulate and invalid names', async () => {
    await expect(client.send(new CreatePlatformApplicationCommand({ Name: 'a', Platform: 'ADM', Attributes: {} }))).rejects.toBeInstanceOf(InvalidParameterException);
    await expect(client.send(new CreatePlatformApplicationCommand({ Name: 'a b', Platform: 'GCM', Attributes: {} }))).rejects.toBeInstanceOf(InvalidParameterException);
  });
});

describe('local SNS: platform endpoints', () => {
  it('creates enabled endpoints with SNS ARNs, idempotently for the same token and attributes', async () => {
    const app = await application('GCM');
    const create = (customUserData?: string) =>
      client.send(new CreatePlatformEndpointCommand({ PlatformApplicationArn: app.arn, Token: 'device-1', CustomUserData: customUserData }));
    const { EndpointArn } = await create('user-1');
    expect(EndpointArn).toMatch(new RegExp(`^arn:aws:sns:us-east-1:000000000000:endpoint/GCM/${app.name}/[0-9a-f-]{36}$`));
    expect((await create('user-1')).EndpointArn).toBe(EndpointArn);
    expect(await attributesOf(EndpointArn!)).toEqual({ Enabled: 'true', Token: 'device-1', CustomUserData: 'user-1' });
    expect(sns.endpoints().filter((item) => item.applicationArn === app.arn)).toEqual([
      { arn: EndpointArn, applicationArn: app.arn, attributes: { Enabled: 'true', Token: 'device-1', CustomUserData: 'user-1' } },
    ]);
  });

  it('refuses the same token with different CustomUserData, naming the existing endpoint as SNS does', async () => {
    const { app, token, arn } = await endpoint('GCM', 'user-1');
    const attempt = client.send(new CreatePlatformEndpointCommand({ PlatformApplicationArn: app.arn, Token: token, CustomUserData: 'user-2' }));
    await expect(attempt).rejects.toBeInstanceOf(InvalidParameterException);
    await expect(attempt).rejects.toMatchObject({
      message: `Invalid parameter: Token Reason: Endpoint ${arn} already exists with the same Token, but different attributes.`,
      $metadata: { httpStatusCode: 400 },
    });
    // Apps recover the ARN from the message.
    const message = await attempt.then(
      () => '',
      (error: Error) => error.message,
    );
    expect(/Endpoint (arn:aws:sns:[^ ]+) already exists/.exec(message)?.[1]).toBe(arn);
  });

  it('refuses the same token with a different Enabled, and accepts it when Enabled matches', async () => {
    const { app, token, arn } = await endpoint('APNS');
    const create = (enabled: string) => client.send(new CreatePlatformEndpointCommand({ PlatformApplicationArn: app.arn, Token: token, Attributes: { Enabled: enabled } }));
    await expect(create('false')).rejects.toBeInstanceOf(InvalidParameterException);
    await expect(create('true')).resolves.toMatchObject({ EndpointArn: arn });
  });

  it('answers NotFound for an unknown application and InvalidParameter for a missing token or a malformed ARN', async () => {
    const unknown = 'arn:aws:sns:us-east-1:000000000000:app/GCM/nope';
    await expect(client.send(new CreatePlatformEndpointCommand({ PlatformApplicationArn: unknown, Token: 't' }))).rejects.toMatchObject({
      name: 'NotFoundException',
      $metadata: { httpStatusCode: 404 },
    });
    const app = await application();
    await expect(client.send(new CreatePlatformEndpointCommand({ PlatformApplicationArn: app.arn, Token: undefined as unknown as string }))).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringContaining('Invalid parameter: Token'),
    });
    await expect(client.send(new CreatePlatformEndpointCommand({ PlatformApplicationArn: 'not-an-arn', Token: 't' }))).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: 'Invalid parameter: PlatformApplicationArn Reason: An ARN must have at least 6 elements, not 1',
    });
  });

  it('sets Token, Enabled and CustomUserData; a new Token re-keys the endpoint', async () => {
    const { app, arn } = await endpoint('GCM', 'user-1');
    await client.send(new SetEndpointAttributesCommand({ EndpointArn: arn, Attributes: { Token: 'rotated', Enabled: 'false', CustomUserData: 'user-9' } }));
    expect(await attributesOf(arn)).toEqual({ Enabled: 'false', Token: 'rotated', CustomUserData: 'user-9' });
    // The new token finds the endpoint (same attributes: same ARN).
    const again = await client.send(
      new CreatePlatformEndpointCommand({ PlatformApplicationArn: app.arn, Token: 'rotated', CustomUserData: 'user-9', Attributes: { Enabled: 'false' } }),
    );
    expect(again.EndpointArn).toBe(arn);

    const listed = await client.send(new ListEndpointsByPlatformApplicationCommand({ PlatformApplicationArn: app.arn }));
    expect(listed.Endpoints).toEqual([{ EndpointArn: arn, Attributes: { Enabled: 'false', Token: 'rotated', CustomUserData: 'user-9' } }]);

    await expect(client.send(new SetEndpointAttributesCommand({ EndpointArn: arn, Attributes: { Enabled: 'maybe' } }))).rejects.toBeInstanceOf(InvalidParameterException);
    await expect(client.send(new SetEndpointAttributesCommand({ EndpointArn: arn, Attributes: { Colour: 'red' } }))).rejects.toBeInstanceOf(InvalidParameterException);
    const missing = arn.replace(/[0-9a-f-]{36}$/, '00000000-0000-0000-0000-000000000000');
    await expect(client.send(new SetEndpointAttributesCommand({ EndpointArn: missing, Attributes: { Enabled: 'true' } }))).rejects.toBeInstanceOf(NotFoundException);
    await expect(client.send(new GetEndpointAttributesCommand({ EndpointArn: missing }))).rejects.toBeInstanceOf(NotFoundException);
  });

  it('deletes endpoints idempotently', async () => {
    const { app, arn } = await endpoint();
    await client.send(new DeleteEndpointCommand({ EndpointArn: arn }));
    await expect(client.send(new DeleteEndpointCommand({ EndpointArn: arn }))).resolves.toBeDefined();
    await expect(attributesOf(arn)).rejects.toBeInstanceOf(NotFoundException);
    expect((await client.send(new ListEndpointsByPlatformApplicationCommand({ PlatformApplicationArn: app.arn }))).Endpoints ?? []).toEqual([]);
  });
});

describe('local SNS: publishing to endpoints', () => {
  it('records a plain message with the endpoint, its token, CustomUserData and message attributes', async () => {
    const { arn, token } = await endpoint('APNS', 'user-7');
    const { MessageId } = await client.send(
      new PublishCommand({
        TargetArn: arn,
        Message: 'hello',
        MessageAttributes: {
          'AWS.SNS.MOBILE.APNS.PUSH_TYPE': { DataType: 'String', StringValue: 'alert' },
          'AWS.SNS.MOBILE.APNS.PRIORITY': { DataType: 'Number', StringValue: '10' },
        },
      }),
    );
    expect(MessageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(lastPush()).toEqual({
      messageId: MessageId,
      targetArn: arn,
      platform: 'APNS',
      token,
      customUserData: 'user-7',
      message: 'hello',
      messageAttributes: { 'AWS.SNS.MOBILE.APNS.PUSH_TYPE': 'alert', 'AWS.SNS.MOBILE.APNS.PRIORITY': '10' },
      at: expect.any(Date),
    });
  });

  it('delivers the platform\'s own key of a MessageStructure=json message, else default', async () => {
    const gcm = await endpoint('GCM');
    const sandbox = await endpoint('APNS_SANDBOX');
    const fcmPayload = JSON.stringify({ notification: { title: 'Hi' } });
    const message = JSON.stringify({ default: 'plain', GCM: fcmPayload, APNS: '{"aps":{"alert":"production"}}' });
    await client.send(new PublishCommand({ TargetArn: gcm.arn, Message: message, MessageStructure: 'json' }));
    expect(lastPush()).toMatchObject({ targetArn: gcm.arn, platform: 'GCM', message: fcmPayload });
    // APNS_SANDBOX has no key of its own here: the APNS key is not used for it.
    await client.send(new PublishCommand({ TargetArn: sandbox.arn, Message: message, MessageStructure: 'json' }));
    expect(lastPush()).toMatchObject({ targetArn: sandbox.arn, platform: 'APNS_SANDBOX', message: 'plain' });
  });

  it('refuses a json message without a string default entry, or with values that are not strings', async () => {
    const { arn } = await endpoint('GCM');
    const before = sns.published().length;
    const publish = (message: string) => client.send(new PublishCommand({ TargetArn: arn, Message: message, MessageStructure: 'json' }));
    await expect(publish(JSON.stringify({ GCM: '{}' }))).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: 'Invalid parameter: Message Structure - No default entry in JSON message body',
    });
    await expect(publish('{not json')).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: 'Invalid parameter: Message Structure - JSON message body failed to parse',
    });
    await expect(publish(JSON.stringify({ default: 'x', GCM: { notification: {} } }))).rejects.toBeInstanceOf(InvalidParameterException);
    expect(sns.published()).toHaveLength(before);
  });

  it('refuses an empty message and one over 256 KB', async () => {
    const { arn } = await endpoint();
    await expect(client.send(new PublishCommand({ TargetArn: arn, Message: '' }))).rejects.toMatchObject({ name: 'InvalidParameterException', message: 'Invalid parameter: Empty message' });
    await expect(client.send(new PublishCommand({ TargetArn: arn, Message: 'x'.repeat(262_145) }))).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: 'Invalid parameter: Message too long',
    });
    await expect(client.send(new PublishCommand({ TargetArn: arn, Message: 'x'.repeat(262_144) }))).resolves.toMatchObject({ MessageId: expect.any(String) });
  });

  it('answers EndpointDisabled for a disabled endpoint, and publishes again once it is enabled', async () => {
    const { arn } = await endpoint();
    await client.send(new SetEndpointAttributesCommand({ EndpointArn: arn, Attributes: { Enabled: 'false' } }));
    const attempt = client.send(new PublishCommand({ TargetArn: arn, Message: 'hi' }));
    await expect(attempt).rejects.toBeInstanceOf(EndpointDisabledException);
    await expect(attempt).rejects.toMatchObject({ message: 'Endpoint is disabled', $metadata: { httpStatusCode: 400 } });
    expect(sns.published().some((push) => push.targetArn === arn)).toBe(false);

    await client.send(new SetEndpointAttributesCommand({ EndpointArn: arn, Attributes: { Enabled: 'true', Token: 'fresh' } }));
    await client.send(new PublishCommand({ TargetArn: arn, Message: 'hi' }));
    expect(lastPush()).toMatchObject({ targetArn: arn, token: 'fresh', message: 'hi' });
  });

  it('answers InvalidParameter "No endpoint found" for a deleted endpoint', async () => {
    const { arn } = await endpoint();
    await client.send(new DeleteEndpointCommand({ EndpointArn: arn }));
    await expect(client.send(new PublishCommand({ TargetArn: arn, Message: 'hi' }))).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: 'Invalid parameter: TargetArn Reason: No endpoint found for the target arn specified',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('refuses topics and phone numbers: only mobile endpoints are emulated', async () => {
    const topic = client.send(new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:000000000000:chat', Message: 'hi' }));
    await expect(topic).rejects.toBeInstanceOf(InvalidParameterException);
    await expect(topic).rejects.toMatchObject({ message: expect.stringContaining('mobile push only') });
    await expect(client.send(new PublishCommand({ PhoneNumber: '+15555550100', Message: 'hi' }))).rejects.toBeInstanceOf(InvalidParameterException);
  });
});

describe('local SNS: protocol', () => {
  it('answers InvalidAction for operations it does not emulate', async () => {
    await expect(client.send(new ListTopicsCommand({}))).rejects.toMatchObject({ name: 'InvalidAction', $metadata: { httpStatusCode: 400 } });
  });

  it('answers malformed requests with a 400 Query error', async () => {
    const post = (body: string) => fetch(sns.endpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    const broken = await post('Action=Publish&Version=2010-03-31&Message=%zz');
    expect(broken.status).toBe(400);
    expect(await broken.text()).toContain('<Code>MalformedQueryString</Code>');
    const noAction = await post('Version=2010-03-31');
    expect(noAction.status).toBe(400);
    expect(await noAction.text()).toContain('<Code>MissingAction</Code>');
    const oldVersion = await post('Action=Publish&Version=2009-01-01');
    expect(oldVersion.status).toBe(400);
    expect(await oldVersion.text()).toContain('<Code>NoSuchVersion</Code>');
  });
});
