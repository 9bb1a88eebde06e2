/**
 * The CDK app (cdk.json runs it): `npx cdk synth`, `npx cdk deploy --all`. Settings come from
 * context; see docs/operations.md.
 */
import { App } from 'aws-cdk-lib';
import { buildApp } from '#lib/stacks/app';

const account = process.env.CDK_DEFAULT_ACCOUNT;
const region = process.env.CDK_DEFAULT_REGION;

buildApp(new App(), account && region ? { env: { account, region } } : {});
