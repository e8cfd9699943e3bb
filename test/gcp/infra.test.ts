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
import { functionNodeOptions } from '../../shared/runtime/node-options.js';

const INFRA = join(import.meta.dirname, '..', '..', 'infra', 'gcp');
const FILES = ['versions.tf', 'variables.tf', 'main.tf', 'outputs.tf'];

function first(value: unknown): Block {
  return (value as Block[])[0] as Block;
}

describe('infra/gcp Terraform', () => {
  let hcl: Hcl;
  beforeAll(async () => {
    hcl = await loadTerraformModule(INFRA, FILES);
  });

  it('pins the google provider ~> 6', () => {
    // when
    const providers = first(hcl.terraform[0]?.['required_providers']);
    // then
    expect(providers['google']).toEqual({ source: 'hashicorp/google', version: '~> 6.0' });
  });

  it('deploys the three entry points as 2nd-gen nodejs22 functions on Pub/Sub Eventarc triggers that retry', () => {
    // given
    const functions = local(hcl, 'functions') as Record<string, { entry_point: string; topic: string }>;
    const fn = resource(hcl, 'google_cloudfunctions2_function', 'this');
    // when
    const build = first(fn['build_config']);
    const trigger = first(fn['event_trigger']);
    const service = first(fn['service_config']);
    // then
    expect(
      Object.values(functions)
        .map((f) => f.entry_point)
        .sort(),
    ).toEqual(['applyWork', 'scheduled', 'secretChanged']);
    expect(functions['secret-changed']?.topic).toContain('google_pubsub_topic.secret_events.id');
    expect(functions['scheduled']?.topic).toContain('google_pubsub_topic.schedules.id');
    expect(functions['apply-work']?.topic).toContain('google_pubsub_topic.work.id');
    expect(build['runtime']).toBe('nodejs22');
    expect(trigger['event_type']).toBe('google.cloud.pubsub.topic.v1.messagePublished');
    expect(trigger['retry_policy']).toBe('RETRY_POLICY_RETRY');
    expect(service['ingress_settings']).toBe('ALLOW_INTERNAL_ONLY');
    expect(service['environment_variables']).toMatchObject({
      REGISTRY: '${var.registry_yaml}',
      WORK_TOPIC: '${google_pubsub_topic.work.id}',
    });
  });

  it('sizes the functions from memory_mb (512 by default), and their V8 flags with it', () => {
    // given
    const service = first(resource(hcl, 'google_cloudfunctions2_function', 'this')['service_config']);
    const env = service['environment_variables'] as Record<string, unknown>;
    // when / then
    expect(variableDefault(hcl, 'memory_mb')).toBe(512);
    expect(withVariable(service['available_memory'], 'memory_mb', 512)).toBe('512Mi');
    for (const mb of [256, 512, 1024, 2048, 4096]) {
      expect(withVariable(env['NODE_OPTIONS'], 'memory_mb', mb)).toBe(functionNodeOptions(mb));
    }
  });

  it('grants secretAccessor per referenced secret only, and never project-wide', () => {
    // when
    const accessor = resource(hcl, 'google_secret_manager_secret_iam_member', 'accessor');
    const projectRoles = Object.values(hcl.resource['google_project_iam_member'] ?? {}).map(
      (b) => first(b)['role'],
    );
    // then
    expect(accessor['for_each']).toBe('${local.bound_secrets}');
    expect(accessor['role']).toBe('roles/secretmanager.secretAccessor');
    expect(projectRoles.filter((r) => String(r).includes('secretmanager'))).toEqual([]);
  });

  it('grants secretVersionAdder only on secrets a binding rotates with a generator', () => {
    // when
    const adder = resource(hcl, 'google_secret_manager_secret_iam_member', 'version_adder');
    const rotating = String(local(hcl, 'rotating_secrets'));
    // then
    expect(adder['for_each']).toBe('${local.rotating_secrets}');
    expect(adder['role']).toBe('roles/secretmanager.secretVersionAdder');
    expect(rotating).toContain('if s.rotates');
  });

  it('reads version metadata through a custom role limited to get and list', () => {
    // when
    const role = resource(hcl, 'google_project_iam_custom_role', 'version_reader');
    // then
    expect(role['permissions']).toEqual(['secretmanager.versions.get', 'secretmanager.versions.list']);
  });

  it('gives GKE only roles/container.clusterViewer (Kubernetes RBAC does the rest)', () => {
    // when
    const roles = Object.values(hcl.resource['google_project_iam_member'] ?? {}).map((b) =>
      String(first(b)['role']),
    );
    // then
    expect(roles).toContain('roles/container.clusterViewer');
    expect(roles.filter((r) => r.startsWith('roles/container.'))).toEqual(['roles/container.clusterViewer']);
  });

  it('lets the Secret Manager service agent publish to the notification topic', () => {
    // when
    const publisher = resource(hcl, 'google_pubsub_topic_iam_member', 'secret_manager_publisher');
    // then
    expect(publisher['topic']).toBe('${google_pubsub_topic.secret_events.id}');
    expect(publisher['role']).toBe('roles/pubsub.publisher');
    expect(String(local(hcl, 'secret_manager_agent'))).toContain(
      '@gcp-sa-secretmanager.iam.gserviceaccount.com',
    );
  });

  it('sets the notification topic on managed secrets, and prints gcloud commands for existing ones', () => {
    // when
    const secret = resource(hcl, 'google_secret_manager_secret', 'bound');
    const commands = String(first(hcl.output['notification_commands'])['value']);
    // then
    expect(first(secret['topics'])['name']).toBe('${google_pubsub_topic.secret_events.id}');
    expect(String(secret['for_each'])).toContain('var.manage_secret_topics');
    expect(commands).toContain('gcloud secrets update');
    expect(commands).toContain('--add-topics');
  });

  it('schedules every binding schedule and a fleet-wide reconcile onto the schedules topic', () => {
    // when
    const job = resource(hcl, 'google_cloud_scheduler_job', 'binding');
    const all = resource(hcl, 'google_cloud_scheduler_job', 'reconcile_all');
    const target = first(job['pubsub_target']);
    // then
    expect(job['for_each']).toBe('${local.schedules}');
    expect(target['topic_name']).toBe('${google_pubsub_topic.schedules.id}');
    expect(target['data']).toBe(
      '${base64encode(jsonencode({ kind = each.value.kind, bindings = [each.value.binding] }))}',
    );
    expect(first(all['pubsub_target'])['data']).toBe('${base64encode(jsonencode({ kind = "reconcile" }))}');
    expect(String(local(hcl, 'schedules'))).toContain('rate\\\\(');
  });
});
