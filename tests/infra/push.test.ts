/**
 * Push in the stack: with platform applications in context the push consumer may create endpoints
 * on exactly those applications and publish only to their endpoints; without them the stack
 * deploys all the same, grants no SNS at all, and says push is off.
 */
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { HANDLER_ENTRIES } from '#config/routes';
import { actionsOf, functionLogicalId, functionStatements, synth } from './synth.ts';

const APNS = 'arn:aws:sns:us-east-1:123456789012:app/APNS/chat-ios';
const FCM = 'arn:aws:sns:us-east-1:123456789012:app/GCM/chat-android';

const snsStatements = (template: ReturnType<typeof synth>['statelessTemplate'], entry: string) =>
  functionStatements(template, functionLogicalId(template, entry)).filter((statement) => actionsOf(statement).some((action) => action.startsWith('sns:')));

describe('push configured', () => {
  const { statelessTemplate: template, stateless } = synth({ pushApnsApplicationArn: APNS, pushFcmApplicationArn: FCM });

  it('lets only the push consumer use SNS, on its two applications and their endpoints', () => {
    for (const entry of HANDLER_ENTRIES.filter((entry) => entry !== 'queue/send-pushes')) {
      expect(snsStatements(template, entry), entry).toEqual([]);
    }
    const statements = snsStatements(template, 'queue/send-pushes');
    expect(statements.map((statement) => [actionsOf(statement).sort(), statement.Resource])).toEqual([
      [['sns:CreatePlatformEndpoint'], [APNS, FCM]],
      [
        ['sns:DeleteEndpoint', 'sns:GetEndpointAttributes', 'sns:Publish', 'sns:SetEndpointAttributes'],
        ['arn:aws:sns:us-east-1:123456789012:endpoint/APNS/chat-ios/*', 'arn:aws:sns:us-east-1:123456789012:endpoint/GCM/chat-android/*'],
      ],
    ]);
    const fn = template.findResources('AWS::Lambda::Function')[functionLogicalId(template, 'queue/send-pushes')]!;
    expect(fn.Properties.Environment.Variables).toMatchObject({ PUSH_APNS_APPLICATION_ARN: APNS, PUSH_FCM_APPLICATION_ARN: FCM });
    expect(Annotations.fromStack(stateless).findWarning('*', Match.stringLikeRegexp('Push is not configured'))).toEqual([]);
  });

  it('feeds the push queue from the events consumer, and triggers the push consumer from it', () => {
    const environment = template.findResources('AWS::Lambda::Function')[functionLogicalId(template, 'queue/route-events')]!.Properties.Environment.Variables;
    expect(JSON.stringify(environment.PUSH_QUEUE_URL)).toContain('provider-customer-chat-dev-push');
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping'));
    const pushMapping = mappings.find((mapping) => JSON.stringify(mapping.Properties.EventSourceArn).includes('provider-customer-chat-dev-push"'));
    expect(JSON.stringify(pushMapping?.Properties.FunctionName)).toContain(functionLogicalId(template, 'queue/send-pushes'));
    expect(pushMapping?.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
  });
});

describe('push not configured', () => {
  const { statelessTemplate: template, stateless } = synth();

  it('still deploys the devices routes and the consumer, grants no SNS, and warns that nothing is pushed', () => {
    expect(snsStatements(template, 'queue/send-pushes')).toEqual([]);
    const fn = template.findResources('AWS::Lambda::Function')[functionLogicalId(template, 'queue/send-pushes')]!;
    expect(fn.Properties.Environment.Variables.PUSH_APNS_APPLICATION_ARN).toBeUndefined();
    expect(Annotations.fromStack(stateless).findWarning('*', Match.stringLikeRegexp('Push is not configured for any platform'))).toHaveLength(1);
    template.hasOutput('PushPlatforms', { Value: 'none (push not configured)' });
  });

  it('refuses a platform application of the wrong platform', () => {
    expect(() => synth({ pushApnsApplicationArn: FCM })).toThrow(/pushApnsApplicationArn/);
  });
});
