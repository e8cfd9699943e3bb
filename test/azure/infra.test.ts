import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import {
  loadTerraformModule,
  local,
  resource,
  variableDefault,
  withVariable,
  type Block,
  type Hcl,
} from '../support/terraform.js';
import { KEY_VAULT_SECRET_EVENT_TYPES } from '../../shared/events/azure.js';
import { DEFAULT_WORK_QUEUE } from '../../functions/azure/work-queue.js';
import { functionNodeOptions } from '../../shared/runtime/node-options.js';

const INFRA = join(import.meta.dirname, '..', '..', 'infra', 'azure');
const FILES = ['versions.tf', 'variables.tf', 'main.tf', 'eventgrid.tf', 'outputs.tf'];

describe('infra/azure Terraform', () => {
  let hcl: Hcl;
  beforeAll(async () => {
    hcl = await loadTerraformModule(INFRA, FILES);
  });

  it('pins azurerm ~> 4', () => {
    const providers = (hcl.terraform[0]?.['required_providers'] as Block[] | undefined)?.[0];
    expect(providers?.['azurerm']).toMatchObject({ source: 'hashicorp/azurerm', version: '~> 4.0' });
  });

  it('runs a Linux Flex Consumption Function App on Node 22 with a system-assigned identity and Application Insights', () => {
    expect(resource(hcl, 'azurerm_service_plan', 'this')).toMatchObject({
      os_type: 'Linux',
      sku_name: 'FC1',
    });
    const app = resource(hcl, 'azurerm_function_app_flex_consumption', 'this');
    expect(app).toMatchObject({
      runtime_name: 'node',
      runtime_version: '22',
      https_only: true,
      storage_authentication_type: 'SystemAssignedIdentity',
    });
    expect(app['identity']).toEqual([{ type: 'SystemAssigned' }]);
    expect((app['site_config'] as Block[])[0]?.['application_insights_connection_string']).toBe(
      '${azurerm_application_insights.this.connection_string}',
    );
    expect(resource(hcl, 'azurerm_application_insights', 'this')['workspace_id']).toBe(
      '${azurerm_log_analytics_workspace.this.id}',
    );
  });

  it('hands the function the registry, schedules and work queue the code reads', () => {
    const settings = resource(hcl, 'azurerm_function_app_flex_consumption', 'this')['app_settings'] as Block;
    expect(settings).toMatchObject({
      REGISTRY: '${var.registry_yaml}',
      RECONCILE_SCHEDULE: '${var.reconcile_schedule}',
      ROTATE_SCHEDULE: '${var.rotate_schedule}',
      WORK_QUEUE_NAME: '${azurerm_storage_queue.work.name}',
      AzureWebJobsStorage__queueServiceUri: '${azurerm_storage_account.this.primary_queue_endpoint}',
    });
    expect(variableDefault(hcl, 'work_queue_name')).toBe(DEFAULT_WORK_QUEUE);
    expect(resource(hcl, 'azurerm_storage_queue', 'work_poison')['name']).toBe(
      '${var.work_queue_name}-poison',
    );
  });

  it('sizes the instances from instance_memory_mb (2048 by default), and the worker V8 flags with it', () => {
    // given
    const app = resource(hcl, 'azurerm_function_app_flex_consumption', 'this');
    const settings = app['app_settings'] as Block;
    // when / then
    expect(variableDefault(hcl, 'instance_memory_mb')).toBe(2048);
    expect(app['instance_memory_in_mb']).toBe('${var.instance_memory_mb}');
    for (const mb of [512, 2048, 4096]) {
      expect(withVariable(settings['languageWorkers__node__arguments'], 'instance_memory_mb', mb)).toBe(
        functionNodeOptions(mb),
      );
    }
  });

  it('grants Key Vault Secrets User on each referenced vault only, and Secrets Officer only where rotation writes versions', () => {
    const user = resource(hcl, 'azurerm_role_assignment', 'key_vault_secrets_user');
    expect(user).toMatchObject({
      for_each: '${local.vault_names}',
      scope: '${var.key_vaults[each.key].id}',
      role_definition_name: 'Key Vault Secrets User',
      principal_id: '${azurerm_function_app_flex_consumption.this.identity[0].principal_id}',
    });
    const officer = resource(hcl, 'azurerm_role_assignment', 'key_vault_secrets_officer');
    expect(officer).toMatchObject({
      for_each: '${local.rotation_vaults}',
      scope: '${var.key_vaults[each.key].id}',
      role_definition_name: 'Key Vault Secrets Officer',
    });
    // The vault set comes from the registry's azure sources, not from every vault described.
    expect(local(hcl, 'vault_names')).toBe('${toset(values(local.azure_sources))}');
    expect(String(local(hcl, 'rotation_vaults'))).toContain('if s.rotates');
    const roles = Object.values(hcl.resource['azurerm_role_assignment'] ?? {}).map(
      (b) => b[0]?.['role_definition_name'],
    );
    expect(roles.filter((r) => typeof r === 'string' && r.startsWith('Key Vault')).sort()).toEqual([
      'Key Vault Secrets Officer',
      'Key Vault Secrets User',
    ]);
  });

  it('grants nothing on the AKS clusters: inside them the identity holds only the Role `rbac` prints', () => {
    // given
    const assignments = Object.values(hcl.resource['azurerm_role_assignment'] ?? {}).map((b) => b[0] ?? {});

    // when
    const onClusters = assignments.filter((a) =>
      /Kubernetes|ContainerService|managedClusters/i.test(
        `${String(a['role_definition_name'])} ${String(a['scope'])}`,
      ),
    );

    // then
    expect(assignments.length).toBeGreaterThan(0);
    expect(onClusters).toEqual([]);
    expect(Object.keys(hcl.resource).filter((type) => /kubernetes|aks/i.test(type))).toEqual([]);
  });

  it('creates one Key Vault system topic per referenced vault', () => {
    expect(resource(hcl, 'azurerm_eventgrid_system_topic', 'vault')).toMatchObject({
      for_each: '${local.vault_names}',
      topic_type: 'Microsoft.KeyVault.vaults',
      source_resource_id: '${var.key_vaults[each.key].id}',
    });
  });

  it('subscribes the secretChanged function to exactly the three secret event types, filtered to the bound secret names', () => {
    const sub = resource(hcl, 'azurerm_eventgrid_system_topic_event_subscription', 'secret_changed');
    expect(sub['included_event_types']).toBe('${local.key_vault_secret_event_types}');
    expect(local(hcl, 'key_vault_secret_event_types')).toEqual([...KEY_VAULT_SECRET_EVENT_TYPES]);
    expect((sub['azure_function_endpoint'] as Block[])[0]?.['function_id']).toBe(
      '${azurerm_function_app_flex_consumption.this.id}/functions/secretChanged',
    );
    const filter = ((sub['dynamic'] as Block)['advanced_filter'] as Block[])[0];
    expect(filter?.['for_each']).toContain('local.secret_names_by_vault[each.key]');
    expect(filter?.['for_each']).toContain('<= local.max_subject_filter_values');
    expect((filter?.['content'] as Block[])[0]?.['string_in']).toEqual([
      { key: 'subject', values: '${advanced_filter.value}' },
    ]);
    expect(local(hcl, 'max_subject_filter_values')).toBe(25);
    expect(sub['storage_blob_dead_letter_destination']).toBeDefined();
  });

  it('keeps host.json poison handling and encoding in line with the work queue', () => {
    const host = JSON.parse(
      readFileSync(join(import.meta.dirname, '..', '..', 'functions', 'azure', 'host.json'), 'utf8'),
    ) as {
      version: string;
      extensions: { queues: { maxDequeueCount: number; messageEncoding: string } };
    };
    expect(host.version).toBe('2.0');
    expect(host.extensions.queues).toMatchObject({ maxDequeueCount: 5, messageEncoding: 'base64' });
  });

  it('is terraform fmt clean (only when terraform is installed)', () => {
    const probe = spawnSync('terraform', ['version'], { encoding: 'utf8' });
    if (probe.error !== undefined || probe.status !== 0) return; // CI machines may not have terraform.
    const fmt = spawnSync('terraform', ['fmt', '-check', '-recursive', INFRA], { encoding: 'utf8' });
    expect(fmt.stdout).toBe('');
    expect(fmt.status).toBe(0);
  });
});
