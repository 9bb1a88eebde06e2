import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import { describe, expect, it } from 'vitest';
import { HANDLER_ENTRIES, HTTP_ROUTES, QUEUE_CONSUMERS, SCHEDULED_TASKS, WEBSOCKET_ROUTES } from '#config/routes';
import { FUNCTION_TIMEOUTS, functionTimeout } from '#lib/stacks/function-timeouts';
import { functionLogicalId, integrationTarget, resources, routeIntegration, synth } from './synth.ts';

const { statelessTemplate: template } = synth();

function apiLogicalId(protocol: 'HTTP' | 'WEBSOCKET'): string {
  const apis = resources(template, 'AWS::ApiGatewayV2::Api').filter(([, api]) => api.Properties?.ProtocolType === protocol);
  expect(apis).toHaveLength(1);
  return apis[0]![0];
}

function routesOf(apiId: string) {
  return new Map(
    resources(template, 'AWS::ApiGatewayV2::Route')
      .filter(([, route]) => (route.Properties?.ApiId as { Ref: string }).Ref === apiId)
      .map(([, route]) => [route.Properties?.RouteKey as string, route]),
  );
}

describe('HTTP API', () => {
  const httpApi = apiLogicalId('HTTP');
  const routes = routesOf(httpApi);

  it('has exactly the routes of the manifest', () => {
    expect([...routes.keys()].sort()).toEqual(HTTP_ROUTES.map((route) => `${route.method} ${route.path}`).sort());
  });

  it.each(HTTP_ROUTES.map((route) => [`${route.method} ${route.path}`, route] as const))('wires %s to its handler function', (key, route) => {
    const created = routes.get(key)!;
    expect(integrationTarget(template, routeIntegration(created))).toBe(functionLogicalId(template, route.entry));
  });

  it('puts the JWT authorizer on the authorized routes and on no other', () => {
    const [authorizerId, authorizer] = resources(template, 'AWS::ApiGatewayV2::Authorizer')[0]!;
    expect(authorizer.Properties).toMatchObject({ AuthorizerType: 'JWT', IdentitySource: ['$request.header.Authorization'] });
    for (const route of HTTP_ROUTES) {
      const properties = routes.get(`${route.method} ${route.path}`)!.Properties!;
      if (route.authorized) {
        expect(properties.AuthorizationType, route.path).toBe('JWT');
        expect(properties.AuthorizerId, route.path).toEqual({ Ref: authorizerId });
      } else {
        expect(properties.AuthorizationType ?? 'NONE', route.path).toBe('NONE');
        expect(properties.AuthorizerId, route.path).toBeUndefined();
      }
    }
  });

  it('trusts the Cognito pool the stateful stack creates when no issuer is configured', () => {
    const [, authorizer] = resources(template, 'AWS::ApiGatewayV2::Authorizer')[0]!;
    const configuration = JSON.stringify(authorizer.Properties?.JwtConfiguration);
    expect(configuration).toContain('UserPool');
    expect(configuration).toContain('AppClient');
  });

  it('trusts the configured issuer and audience when one is given', () => {
    const external = synth({ authIssuer: 'https://auth.example.com', authAudience: 'chat-app,chat-web' }).statelessTemplate;
    external.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      JwtConfiguration: { Issuer: 'https://auth.example.com', Audience: ['chat-app', 'chat-web'] },
    });
    external.resourceCountIs('AWS::Cognito::UserPool', 0);
  });

  it('answers CORS preflights and logs every request', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: { AllowHeaders: ['authorization', 'content-type'], AllowOrigins: ['*'] },
    });
    const [, stage] = resources(template, 'AWS::ApiGatewayV2::Stage').find(([, s]) => (s.Properties?.ApiId as { Ref: string }).Ref === httpApi)!;
    expect(stage.Properties).toMatchObject({ StageName: '$default', AutoDeploy: true });
    expect(JSON.stringify(stage.Properties?.AccessLogSettings)).toContain('$context.requestId');
  });
});

describe('WebSocket API', () => {
  const webSocketApi = apiLogicalId('WEBSOCKET');
  const routes = routesOf(webSocketApi);

  it('routes on the action field of the frame', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: '$request.body.action',
    });
  });

  it('has every route key of the manifest, $connect, $disconnect and $default included', () => {
    expect([...routes.keys()].sort()).toEqual(WEBSOCKET_ROUTES.map((route) => route.routeKey).sort());
    expect([...routes.keys()]).toEqual(expect.arrayContaining(['$connect', '$disconnect', '$default']));
  });

  it.each(WEBSOCKET_ROUTES.map((route) => [route.routeKey, route] as const))('wires %s to its handler function', (key, route) => {
    expect(integrationTarget(template, routeIntegration(routes.get(key)!))).toBe(functionLogicalId(template, route.entry));
  });

  it('deploys a stage named after the deployment stage, with access logs that leave the token out', () => {
    const [, stage] = resources(template, 'AWS::ApiGatewayV2::Stage').find(([, s]) => (s.Properties?.ApiId as { Ref: string }).Ref === webSocketApi)!;
    expect(stage.Properties).toMatchObject({ StageName: 'dev', AutoDeploy: true });
    const format = JSON.stringify(stage.Properties?.AccessLogSettings);
    expect(format).toContain('$context.connectionId');
    expect(format).not.toContain('querystring');
  });

  it('sets up the account logging role WebSocket access logs need, unless told another stack owns it', () => {
    template.resourceCountIs('AWS::ApiGateway::Account', 1);
    synth({ apiGatewayAccountRole: false }).statelessTemplate.resourceCountIs('AWS::ApiGateway::Account', 0);
  });
});

describe('functions', () => {
  it('are one per handler entry, each invoked only by API Gateway or, for scheduled tasks, EventBridge', () => {
    const scheduled = new Set<string>(SCHEDULED_TASKS.map((task) => task.entry));
    const consumers = new Set<string>(QUEUE_CONSUMERS.map((consumer) => consumer.entry));
    for (const entry of HANDLER_ENTRIES) {
      const id = functionLogicalId(template, entry);
      const permissions = resources(template, 'AWS::Lambda::Permission').filter(
        ([, permission]) => JSON.stringify(permission.Properties?.FunctionName).includes(id),
      );
      // Queue consumers are invoked by Lambda's own poller (an event source mapping), which
      // needs no resource policy: nobody else may invoke them.
      if (consumers.has(entry)) {
        expect(permissions, entry).toEqual([]);
        continue;
      }
      expect(permissions.length, entry).toBeGreaterThan(0);
      const principal = scheduled.has(entry) ? 'events.amazonaws.com' : 'apigateway.amazonaws.com';
      for (const [, permission] of permissions) expect(permission.Properties?.Principal, entry).toBe(principal);
    }
  });

  it.each(SCHEDULED_TASKS.map((task) => [task.name, task] as const))('run the scheduled task %s at its rate', (_name, task) => {
    const id = functionLogicalId(template, task.entry);
    const rules = resources(template, 'AWS::Events::Rule').filter(([, rule]) => JSON.stringify(rule.Properties?.Targets).includes(id));
    expect(rules).toHaveLength(1);
    expect(rules[0]![1].Properties).toMatchObject({
      // CDK writes whole hours as hours: rate(60 minutes) is rate(1 hour).
      ScheduleExpression: events.Schedule.rate(Duration.minutes(task.everyMinutes)).expressionString,
      State: 'ENABLED',
    });
    expect(rules[0]![1].Properties?.ScheduleExpression).toMatch(/^rate\(\d+ (minute|minutes|hour|hours)\)$/);
  });

  it('time out API functions under API Gateway\'s limits, and background functions later', () => {
    const timeout = (entry: string) => template.findResources('AWS::Lambda::Function')[functionLogicalId(template, entry)]!.Properties.Timeout;
    for (const route of [...HTTP_ROUTES, ...WEBSOCKET_ROUTES]) expect(timeout(route.entry), route.entry).toBe(functionTimeout(route.entry, 'api').toSeconds());
    for (const task of SCHEDULED_TASKS) expect(timeout(task.entry), task.entry).toBe(functionTimeout(task.entry, 'scheduled').toSeconds());
    for (const consumer of QUEUE_CONSUMERS) expect(timeout(consumer.entry), consumer.entry).toBe(functionTimeout(consumer.entry, 'queue').toSeconds());
    expect(FUNCTION_TIMEOUTS.api.toSeconds()).toBeLessThan(29);
    // Only background functions get a timeout of their own (lib/stacks/function-timeouts.ts).
    for (const route of [...HTTP_ROUTES, ...WEBSOCKET_ROUTES]) expect(timeout(route.entry), route.entry).toBeLessThan(29);
  });

  it('run Node.js 22 on ARM64 with active tracing, a retained log group and the Powertools settings', () => {
    for (const entry of HANDLER_ENTRIES) {
      const fn = template.findResources('AWS::Lambda::Function')[functionLogicalId(template, entry)]!;
      expect(fn.Properties, entry).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        Handler: 'index.handler',
        LoggingConfig: { LogGroup: expect.anything() },
        Environment: {
          Variables: expect.objectContaining({
            POWERTOOLS_SERVICE_NAME: 'provider-customer-chat',
            POWERTOOLS_METRICS_NAMESPACE: 'ProviderCustomerChat',
            NODE_OPTIONS: '--enable-source-maps',
          }),
        },
      });
    }
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('tell the handlers which claims carry the identity (Cognito custom attributes by default)', () => {
    const fn = template.findResources('AWS::Lambda::Function')[functionLogicalId(template, 'ws/connect')]!;
    expect(fn.Properties?.Environment).toMatchObject({
      Variables: {
        AUTH_CLAIM_USER_ID: 'custom:userId',
        AUTH_CLAIM_ROLE: 'custom:role',
        AUTH_CLAIM_PROVIDER_ID: 'custom:providerId',
        AUTH_ISSUER: expect.anything(),
        AUTH_AUDIENCE: expect.anything(),
        AUTH_JWKS_URI: expect.anything(),
      },
    });
  });
});

describe('CloudFormation limits', () => {
  const { monitoringTemplate } = synth();
  const counted = (t: typeof template) => Object.keys(t.toJSON().Resources as object).length;

  it.each([
    ['stateless', template],
    ['monitoring (nested)', monitoringTemplate],
  ] as const)('keep the %s template under 80 %% of the 1 MB template limit (unindented) and its resources under 80 %% of 500', (_name, t) => {
    expect(JSON.stringify(t.toJSON()).length).toBeLessThan(800_000);
    expect(counted(t)).toBeLessThan(400);
  });

  it('keep the monitoring stack\'s parameters (what it references from its parent) under 80 % of 200', () => {
    expect(Object.keys(monitoringTemplate.toJSON().Parameters ?? {}).length).toBeLessThan(160);
  });

  it('put the alarms and the dashboard in the monitoring stack, none in the stateless one', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    template.resourceCountIs('AWS::CloudFormation::Stack', 1);
    expect(monitoringTemplate.findResources('AWS::CloudWatch::Alarm')).not.toEqual({});
    monitoringTemplate.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });
});
