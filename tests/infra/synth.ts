/**
 * Builds the real CDK app for the infrastructure tests, with asset bundling skipped (context
 * `aws:cdk:bundling-stacks: []`) so a synthesis takes seconds, and helpers to find things in the
 * templates. One build per context per test file.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp, type ChatApp } from '#lib/stacks/app';

export interface Synthesized extends ChatApp {
  statefulTemplate: Template;
  statelessTemplate: Template;
  /** The stateless stack's nested Monitoring stack: the dashboard, the alarms and their topic. */
  monitoringTemplate: Template;
}

const cache = new Map<string, Synthesized>();

/** The app for these context values (on top of the dev defaults), synthesized once. */
export function synth(context: Record<string, unknown> = {}): Synthesized {
  const key = JSON.stringify(context);
  let built = cache.get(key);
  if (!built) {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
    const chat = buildApp(app);
    built = {
      ...chat,
      statefulTemplate: Template.fromStack(chat.stateful),
      statelessTemplate: Template.fromStack(chat.stateless),
      monitoringTemplate: Template.fromStack(chat.stateless.monitoring),
    };
    cache.set(key, built);
  }
  return built;
}

export type Resource = { Type: string; Properties?: Record<string, unknown>; DependsOn?: string[] };

export function resources(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.findResources(type) as Record<string, Resource>);
}

/** The logical id of the Lambda function serving a manifest entry (its description starts with the entry). */
export function functionLogicalId(template: Template, entry: string): string {
  const matches = resources(template, 'AWS::Lambda::Function').filter(([, resource]) =>
    String(resource.Properties?.Description ?? '').startsWith(`${entry}: `),
  );
  if (matches.length !== 1) throw new Error(`Expected one function for ${entry}, found ${matches.length}`);
  return matches[0]![0];
}

/** The function an API Gateway v2 integration invokes (its logical id). */
export function integrationTarget(template: Template, integrationLogicalId: string): string {
  const integration = template.findResources('AWS::ApiGatewayV2::Integration')[integrationLogicalId] as Resource | undefined;
  // HTTP integrations name the function's ARN; WebSocket ones wrap it in the invocation URI.
  const targets = new Set([...JSON.stringify(integration?.Properties?.IntegrationUri ?? {}).matchAll(/"Fn::GetAtt":\["([^"]+)","Arn"\]/g)].map((m) => m[1]!));
  if (targets.size !== 1) throw new Error(`Integration ${integrationLogicalId} does not invoke exactly one function of this stack`);
  return [...targets][0]!;
}

/** The integration a route targets: `integrations/<Ref>`. */
export function routeIntegration(route: Resource): string {
  const target = route.Properties?.Target as { 'Fn::Join': [string, unknown[]] } | undefined;
  const ref = (target?.['Fn::Join'][1] ?? []).find((part): part is { Ref: string } => typeof part === 'object' && part !== null && 'Ref' in part);
  if (!ref) throw new Error('The route has no integration target');
  return ref.Ref;
}

export interface PolicyStatement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/** Every statement of the IAM policies attached to a function's role. */
export function functionStatements(template: Template, functionLogicalId: string): PolicyStatement[] {
  const fn = template.findResources('AWS::Lambda::Function')[functionLogicalId] as Resource;
  const role = (fn.Properties?.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  return resources(template, 'AWS::IAM::Policy')
    .filter(([, policy]) => (policy.Properties?.Roles as { Ref: string }[]).some((r) => r.Ref === role))
    .flatMap(([, policy]) => (policy.Properties?.PolicyDocument as { Statement: PolicyStatement[] }).Statement);
}

export function actionsOf(statement: PolicyStatement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}
