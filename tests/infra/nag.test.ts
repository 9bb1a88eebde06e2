import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import * as sns from 'aws-cdk-lib/aws-sns';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '#lib/stacks/app';
import { synth } from './synth.ts';

const CONFIGURATIONS: [string, Record<string, unknown>][] = [
  ['dev defaults (Cognito, single-AZ, no rotation)', {}],
  ['services with client-credentials tokens (resource server, service client, domain)', { serviceClient: true }],
  [
    'production (custom domains, alarm email, rotation, Multi-AZ)',
    {
      stage: 'prod',
      alarmEmail: 'oncall@example.com',
      databaseSecretRotationDays: 30,
      databaseInstanceType: 'r7g.large',
      domainCertificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/0b8f7a4e-0000-4000-8000-000000000000',
      httpDomainName: 'chat-api.example.com',
      webSocketDomainName: 'chat-ws.example.com',
    },
  ],
  ['an external OIDC issuer', { authIssuer: 'https://auth.example.com/', authAudience: 'chat-app', apiGatewayAccountRole: false }],
];

describe('cdk-nag AwsSolutions checks', () => {
  // Each synthesis takes seconds (tens on a busy machine): build them under the hook's timeout.
  beforeAll(() => {
    for (const [, context] of CONFIGURATIONS) synth(context);
  });

  it.each(CONFIGURATIONS)('find nothing unacknowledged: %s', (_name, context) => {
    const { app } = synth(context);
    const report = new AwsSolutionsChecks().validateScope(app);
    const findings = report.violations.flatMap((violation) =>
      violation.violatingResources.map((resource) => `${violation.ruleName} at ${resource.constructPath ?? resource.resourceLogicalId}`),
    );
    expect(findings).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('give every acknowledgement a specific reason', () => {
    const { app } = synth();
    const reasons = app.node
      .findAll()
      .flatMap((construct) => construct.node.metadata)
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>));
    expect(reasons.length).toBeGreaterThan(0);
    for (const [id, value] of reasons) {
      expect(value.length, id).toBeGreaterThan(40);
    }
  });

  it('run as part of synthesis, so an unacknowledged finding fails it', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const { stateless } = buildApp(app);
    // A topic that accepts publishing over plain HTTP: AwsSolutions-SNS3.
    new sns.Topic(stateless, 'PlainTopic');
    expect(() => app.synth()).toThrow(/SNS Topic does not require publishers to use SSL/);
  });
});
