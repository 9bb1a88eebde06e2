/**
 * Builds the product's CDK app: the stateful and stateless stacks for one stage, tagged, with the
 * cdk-nag AwsSolutions checks. bin/cdk.ts runs it; the infrastructure tests build the same app.
 */
import { Tags, Validations, type App, type Environment } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readDeploymentSettings, type DeploymentSettings } from './deployment-settings.ts';
import { SERVICE_NAME, stackNames } from './naming.ts';
import { StatefulStack } from './stateful-stack.ts';
import { StatelessStack } from './stateless-stack.ts';

export interface ChatApp {
  app: App;
  settings: DeploymentSettings;
  stateful: StatefulStack;
  stateless: StatelessStack;
}

export interface BuildAppOptions {
  /** The account and region to deploy to; environment-agnostic when omitted. */
  env?: Environment;
  /** Registers the cdk-nag AwsSolutions checks (which then run at synthesis). @default true */
  nag?: boolean;
}

/** The context key that chooses how stacks pass values to each other (aws-cdk-lib's cx-api). */
const CROSS_STACK_REFERENCES = '@aws-cdk/core:defaultCrossStackReferences';
/** Server access logs are delivered by a bucket policy for logging.s3.amazonaws.com, not the legacy log-delivery ACL. */
const SERVER_ACCESS_LOGS_USE_BUCKET_POLICY = '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy';

export function buildApp(app: App, options: BuildAppOptions = {}): ChatApp {
  // Strong references (exports/imports): CloudFormation refuses to delete or change what the
  // stateless stack still uses in the stateful one. Set before any stack exists, unless cdk.json says otherwise.
  if (app.node.tryGetContext(CROSS_STACK_REFERENCES) === undefined) app.node.setContext(CROSS_STACK_REFERENCES, 'strong');
  // ACLs stay disabled on the access-log bucket (BucketOwnerEnforced), so logging needs the policy.
  if (app.node.tryGetContext(SERVER_ACCESS_LOGS_USE_BUCKET_POLICY) === undefined) app.node.setContext(SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);
  const settings = readDeploymentSettings(app.node);
  const names = stackNames(settings.stage);
  const env = options.env ? { env: options.env } : {};

  const stateful = new StatefulStack(app, names.stateful, {
    ...env,
    settings,
    description: `Provider-customer chat (${settings.stage}): network, Postgres, DynamoDB, identity`,
    terminationProtection: settings.deletionProtection,
  });
  const stateless = new StatelessStack(app, names.stateless, {
    ...env,
    settings,
    stateful,
    description: `Provider-customer chat (${settings.stage}): functions, APIs, migrations, monitoring`,
    // One function per handler with its role, policy, log group, alarms and cdk-nag metadata: the
    // indented template passes 80 % of CloudFormation's 1 MB template limit; unindented it is about
    // three quarters of that size. Split the stack before the unindented one reaches 800 KB.
    suppressTemplateIndentation: true,
  });
  stateless.addStackDependency(stateful);

  Tags.of(app).add('service', SERVICE_NAME);
  Tags.of(app).add('stage', settings.stage);

  if (options.nag ?? true) {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true, writeSuppressionsToCloudFormation: true }));
  }
  return { app, settings, stateful, stateless };
}
