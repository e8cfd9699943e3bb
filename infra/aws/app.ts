import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadRegistryFile } from '../../shared/registry/load.js';
import { PROJECT_ROOT, SecretPropagatorStack } from './stack.js';

/**
 * `npx cdk synth` / `npx cdk deploy` from the repository root (cdk.json points here).
 * Registry: `-c registry=path`, else env REGISTRY_FILE, else the example registry.
 * Flags: `-c cloudTrailEvents=true`, `-c createTrail=true`, `-c eksAccessEntries=cluster-a,cluster-b` (or `all`).
 */
const app = new App();
const flag = (name: string): boolean => {
  const value: unknown = app.node.tryGetContext(name);
  return value === true || value === 'true';
};
const contextRegistry: unknown = app.node.tryGetContext('registry');
const registryFile = resolve(
  typeof contextRegistry === 'string'
    ? contextRegistry
    : (process.env.REGISTRY_FILE ?? join(PROJECT_ROOT, 'infra', 'aws', 'example-registry.yaml')),
);
if (!existsSync(registryFile)) {
  throw new Error(
    `registry file ${registryFile} does not exist; pass -c registry=path/to/registry.yaml or set REGISTRY_FILE`,
  );
}
const registry = loadRegistryFile(registryFile);
const accessEntries: unknown = app.node.tryGetContext('eksAccessEntries');
const stackName: unknown = app.node.tryGetContext('stackName');

new SecretPropagatorStack(app, typeof stackName === 'string' ? stackName : 'SecretPropagator', {
  registry,
  registryFile,
  cloudTrailEvents: flag('cloudTrailEvents'),
  createTrail: flag('createTrail'),
  eksAccessEntries:
    accessEntries === 'all'
      ? 'all'
      : typeof accessEntries === 'string' && accessEntries !== ''
        ? accessEntries.split(',').map((name) => name.trim())
        : [],
  ...(process.env.CDK_DEFAULT_ACCOUNT === undefined || process.env.CDK_DEFAULT_REGION === undefined
    ? {}
    : { env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION } }),
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
