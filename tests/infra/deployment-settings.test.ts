import { describe, expect, it } from 'vitest';
import { DeploymentSettingsError, parseDeploymentSettings } from '#lib/stacks/deployment-settings';

function problems(context: Record<string, unknown>): string[] {
  try {
    parseDeploymentSettings(context);
  } catch (error) {
    if (error instanceof DeploymentSettingsError) return error.problems;
    throw error;
  }
  return [];
}

describe('deployment settings (CDK context)', () => {
  it('defaults to a lean dev stage with Cognito', () => {
    expect(parseDeploymentSettings({})).toMatchObject({
      stage: 'dev',
      production: false,
      identity: { kind: 'cognito', claims: { userId: 'custom:userId', role: 'custom:role', providerId: 'custom:providerId' } },
      database: { instanceType: 't4g.micro', multiAz: false, backupRetentionDays: 7, secretRotationDays: 0 },
      deletionProtection: false,
      natGateways: 1,
      corsAllowOrigins: ['*'],
      metricsNamespace: 'ProviderCustomerChat',
      logRetentionDays: 30,
    });
  });

  it('sets up services only when asked, on the stack\'s own pool, or by scope with an external issuer', () => {
    expect(parseDeploymentSettings({}).identity).not.toHaveProperty('serviceClient');
    expect(parseDeploymentSettings({ serviceClient: 'true' }).identity).toMatchObject({ kind: 'cognito', serviceClient: {} });
    expect(parseDeploymentSettings({ serviceClient: true, serviceDomainPrefix: 'chat-prod' }).identity).toMatchObject({ serviceClient: { domainPrefix: 'chat-prod' } });
    expect(parseDeploymentSettings({ authIssuer: 'https://auth.example.com', authAudience: 'a', authServiceScope: 'chat/service' }).identity).toMatchObject({
      kind: 'external',
      serviceScope: 'chat/service',
    });
    expect(problems({ authIssuer: 'https://auth.example.com', authAudience: 'a', serviceClient: true })).toEqual([expect.stringMatching(/^serviceClient: /)]);
    expect(problems({ serviceDomainPrefix: 'chat-prod' })).toEqual([expect.stringMatching(/^serviceDomainPrefix: /)]);
    expect(problems({ authServiceScope: 'chat/service' })).toEqual([expect.stringMatching(/^authServiceScope: /)]);
    expect(problems({ serviceClient: true, serviceDomainPrefix: 'Not_A_Prefix' })).toEqual([expect.stringMatching(/^serviceDomainPrefix: /)]);
  });

  it('turns protection and Multi-AZ on for production stages unless told otherwise', () => {
    expect(parseDeploymentSettings({ stage: 'prod' })).toMatchObject({ production: true, deletionProtection: true, database: { multiAz: true } });
    expect(parseDeploymentSettings({ stage: 'prod', deletionProtection: 'false', databaseMultiAz: false })).toMatchObject({
      deletionProtection: false,
      database: { multiAz: false },
    });
  });

  it('reads command-line strings: booleans, numbers and comma-separated lists', () => {
    const settings = parseDeploymentSettings({
      deletionProtection: 'true',
      natGateways: '2',
      corsAllowOrigins: 'https://app.example.com, https://admin.example.com',
      authIssuer: 'https://auth.example.com',
      authAudience: 'a,b',
      authClaimUserId: 'sub_id',
    });
    expect(settings).toMatchObject({
      deletionProtection: true,
      natGateways: 2,
      corsAllowOrigins: ['https://app.example.com', 'https://admin.example.com'],
      identity: { kind: 'external', issuer: 'https://auth.example.com', audience: ['a', 'b'], claims: { userId: 'sub_id', role: 'role' } },
    });
  });

  it('names every bad key', () => {
    expect(problems({ stage: 'Prod_1', logRetentionDays: 42, alarmEmail: 'nobody', authAudience: 'x' })).toEqual([
      expect.stringMatching(/^stage:/),
      expect.stringMatching(/^alarmEmail:/),
      expect.stringMatching(/^logRetentionDays:/),
      expect.stringMatching(/^authIssuer:/),
    ]);
    expect(problems({ authIssuer: 'https://auth.example.com' })).toEqual([expect.stringMatching(/^authAudience:/)]);
    expect(problems({ httpDomainName: 'chat.example.com' })).toEqual([expect.stringMatching(/^domainCertificateArn:/)]);
  });
});
