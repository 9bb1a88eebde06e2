import { describe, expect, it } from 'vitest';
import { TABLE_KEYS, TABLES, type TableDefinition } from '#config/tables';
import { tableName } from '#lib/stacks/naming';
import { resources, synth } from './synth.ts';

const dev = synth();
const prod = synth({ stage: 'prod', alarmEmail: 'oncall@example.com', databaseInstanceType: 'm7g.large' });

function table(template: typeof dev.statefulTemplate, name: string) {
  const found = resources(template, 'AWS::DynamoDB::Table').find(([, t]) => t.Properties?.TableName === name);
  if (!found) throw new Error(`No table ${name}`);
  return found[1];
}

describe('DynamoDB tables', () => {
  it('are exactly the tables of functions/config/tables.ts', () => {
    const names = resources(dev.statefulTemplate, 'AWS::DynamoDB::Table').map(([, t]) => t.Properties?.TableName);
    expect(names.sort()).toEqual(TABLE_KEYS.map((key) => tableName('dev', key)).sort());
  });

  it.each(TABLE_KEYS)('%s: on-demand, AWS-managed KMS encryption and TTL on its attribute', (key) => {
    const definition: TableDefinition = TABLES[key];
    expect(table(dev.statefulTemplate, tableName('dev', key)).Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      // SSE with the AWS-managed key (aws/dynamodb): enabled, no customer key named.
      SSESpecification: { SSEEnabled: true },
      TimeToLiveSpecification: { AttributeName: definition.ttlAttribute, Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: definition.pointInTimeRecovery },
    });
  });

  it.each(TABLE_KEYS)('%s: names no customer-managed key', (key) => {
    expect(table(dev.statefulTemplate, tableName('dev', key)).Properties?.SSESpecification).toEqual({ SSEEnabled: true });
  });

  it.each(TABLE_KEYS)('%s: keys and indexes as defined', (key) => {
    const definition: TableDefinition = TABLES[key];
    const properties = table(dev.statefulTemplate, tableName('dev', key)).Properties!;
    const keySchema = [
      { AttributeName: definition.partitionKey.name, KeyType: 'HASH' },
      ...(definition.sortKey ? [{ AttributeName: definition.sortKey.name, KeyType: 'RANGE' }] : []),
    ];
    expect(properties.KeySchema).toEqual(keySchema);
    const indexes = (properties.GlobalSecondaryIndexes ?? []) as { IndexName: string; KeySchema: unknown; Projection: { ProjectionType: string } }[];
    expect(indexes.map((index) => index.IndexName).sort()).toEqual(definition.globalSecondaryIndexes.map((index) => index.name).sort());
    for (const index of definition.globalSecondaryIndexes) {
      const created = indexes.find((i) => i.IndexName === index.name)!;
      expect(created.KeySchema).toEqual([
        { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
        ...(index.sortKey ? [{ AttributeName: index.sortKey.name, KeyType: 'RANGE' }] : []),
      ]);
      expect(created.Projection.ProjectionType).toBe(index.projection.type);
    }
  });

  it('are deleted with a dev stack but protected and retained in production', () => {
    const devTable = dev.statefulTemplate.findResources('AWS::DynamoDB::Table');
    for (const resource of Object.values(devTable)) expect(resource.DeletionPolicy).toBe('Delete');
    for (const resource of Object.values(prod.statefulTemplate.findResources('AWS::DynamoDB::Table'))) {
      expect(resource.DeletionPolicy).toBe('Retain');
      expect(resource.Properties.DeletionProtectionEnabled).toBe(true);
    }
  });
});

describe('Postgres', () => {
  it('is RDS PostgreSQL 17, encrypted, private, backed up, with TLS forced', () => {
    dev.statefulTemplate.hasResourceProperties('AWS::RDS::DBInstance', {
      Engine: 'postgres',
      EngineVersion: '17',
      DBInstanceClass: 'db.t4g.micro',
      StorageEncrypted: true,
      PubliclyAccessible: false,
      BackupRetentionPeriod: 7,
      EnableCloudwatchLogsExports: ['postgresql'],
      DBName: 'chat',
    });
    dev.statefulTemplate.hasResourceProperties('AWS::RDS::DBParameterGroup', {
      Family: 'postgres17',
      Parameters: { 'rds.force_ssl': '1' },
    });
  });

  it('takes its size, Multi-AZ and deletion protection from the context (production defaults on)', () => {
    dev.statefulTemplate.hasResourceProperties('AWS::RDS::DBInstance', { MultiAZ: false, DeletionProtection: false });
    expect(Object.values(dev.statefulTemplate.findResources('AWS::RDS::DBInstance'))[0]!.DeletionPolicy).toBe('Delete');
    prod.statefulTemplate.hasResourceProperties('AWS::RDS::DBInstance', {
      DBInstanceClass: 'db.m7g.large',
      MultiAZ: true,
      DeletionProtection: true,
    });
    expect(Object.values(prod.statefulTemplate.findResources('AWS::RDS::DBInstance'))[0]!.DeletionPolicy).toBe('Snapshot');
    const explicit = synth({ deletionProtection: 'true', databaseMultiAz: 'false' }).statefulTemplate;
    explicit.hasResourceProperties('AWS::RDS::DBInstance', { MultiAZ: false, DeletionProtection: true });
  });

  it('keeps a generated password in Secrets Manager, which RDS Proxy uses, with TLS required', () => {
    dev.statefulTemplate.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'provider-customer-chat-dev/database',
      GenerateSecretString: { SecretStringTemplate: '{"username":"chat_app"}' },
    });
    dev.statefulTemplate.hasResourceProperties('AWS::RDS::DBProxy', {
      DBProxyName: 'provider-customer-chat-dev-proxy',
      EngineFamily: 'POSTGRESQL',
      RequireTLS: true,
      Auth: [{ AuthScheme: 'SECRETS', IAMAuth: 'DISABLED', ClientPasswordAuthType: 'POSTGRES_SCRAM_SHA_256' }],
    });
  });

  it('rotates the password only when asked to', () => {
    dev.statefulTemplate.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
    synth({ databaseSecretRotationDays: 30 }).statefulTemplate.resourceCountIs('AWS::SecretsManager::RotationSchedule', 1);
  });
});

describe('Cognito (when no external issuer is configured)', () => {
  it('creates a pool whose tokens carry userId, role and providerId, which the app cannot write', () => {
    const pool = resources(dev.statefulTemplate, 'AWS::Cognito::UserPool')[0]![1];
    const schema = pool.Properties?.Schema as { Name: string; AttributeDataType: string }[];
    expect(schema).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Name: 'userId', AttributeDataType: 'Number' }),
        expect.objectContaining({ Name: 'role', AttributeDataType: 'String' }),
        expect.objectContaining({ Name: 'providerId', AttributeDataType: 'Number' }),
      ]),
    );
    expect(pool.Properties?.AdminCreateUserConfig).toMatchObject({ AllowAdminCreateUserOnly: true });
    const client = resources(dev.statefulTemplate, 'AWS::Cognito::UserPoolClient')[0]![1];
    expect(client.Properties?.ReadAttributes).toEqual(expect.arrayContaining(['custom:userId', 'custom:role', 'custom:providerId']));
    expect(client.Properties?.WriteAttributes).toEqual(['email']);
  });
});

describe('services (context serviceClient)', () => {
  const withServices = synth({ serviceClient: true, serviceDomainPrefix: 'chat-dev-services' });

  it('are off by default: no resource server, one app client, no domain', () => {
    dev.statefulTemplate.resourceCountIs('AWS::Cognito::UserPoolResourceServer', 0);
    dev.statefulTemplate.resourceCountIs('AWS::Cognito::UserPoolClient', 1);
    dev.statefulTemplate.resourceCountIs('AWS::Cognito::UserPoolDomain', 0);
  });

  it('get a resource server with the chat/service scope, a client-credentials client with a secret, and the token domain', () => {
    withServices.statefulTemplate.hasResourceProperties('AWS::Cognito::UserPoolResourceServer', {
      Identifier: 'chat',
      Scopes: [{ ScopeName: 'service', ScopeDescription: 'Act in the chat as a marketplace service' }],
    });
    const clients = resources(withServices.statefulTemplate, 'AWS::Cognito::UserPoolClient').map(([, client]) => client.Properties!);
    const service = clients.find((client) => client.ClientName === 'provider-customer-chat-dev-services')!;
    expect(service).toMatchObject({ GenerateSecret: true, AllowedOAuthFlows: ['client_credentials'], AllowedOAuthFlowsUserPoolClient: true });
    expect(JSON.stringify(service.AllowedOAuthScopes)).toContain('/service');
    // The people's client stays as it was.
    const app = clients.find((client) => client.ClientName === 'provider-customer-chat-dev-app')!;
    expect(app).toEqual(resources(dev.statefulTemplate, 'AWS::Cognito::UserPoolClient')[0]![1].Properties);
    withServices.statefulTemplate.hasResourceProperties('AWS::Cognito::UserPoolDomain', { Domain: 'chat-dev-services' });
    withServices.statefulTemplate.hasOutput('ServiceTokenUrl', {});
    withServices.statefulTemplate.hasOutput('ServiceClientId', {});
  });

  it('add the service client to the audience and tell the handlers the scope, without adding a stateless resource', () => {
    const [, authorizer] = resources(withServices.statelessTemplate, 'AWS::ApiGatewayV2::Authorizer')[0]!;
    const audience = (authorizer.Properties?.JwtConfiguration as { Audience: unknown[] }).Audience;
    expect(audience).toHaveLength(2);
    expect(JSON.stringify(audience)).toContain('ServiceClient');
    const variables = Object.values(withServices.statelessTemplate.findResources('AWS::Lambda::Function')).map(
      (fn) => (fn.Properties.Environment?.Variables ?? {}) as Record<string, unknown>,
    );
    expect(variables.filter((v) => v.AUTH_ISSUER !== undefined).every((v) => v.AUTH_SERVICE_SCOPE === 'chat/service')).toBe(true);
    const count = (template: typeof dev.statelessTemplate) => Object.keys(template.toJSON().Resources as object).length;
    expect(count(withServices.statelessTemplate)).toBe(count(dev.statelessTemplate));
    for (const v of Object.values(dev.statelessTemplate.findResources('AWS::Lambda::Function'))) {
      expect(v.Properties.Environment?.Variables?.AUTH_SERVICE_SCOPE).toBeUndefined();
    }
  });

  it('with an external issuer, pass its scope to the handlers', () => {
    const external = synth({ authIssuer: 'https://auth.example.com', authAudience: 'chat-app', authServiceScope: 'marketplace/chat' });
    const variables = Object.values(external.statelessTemplate.findResources('AWS::Lambda::Function')).map((fn) => fn.Properties.Environment?.Variables ?? {});
    expect(variables.some((v: Record<string, unknown>) => v.AUTH_SERVICE_SCOPE === 'marketplace/chat')).toBe(true);
  });
});
