/**
 * Workloads that never become available while a Secret they use holds a given value: the local
 * stand-in for a wrong-but-valid password that makes pods crash-loop. The rollout controller
 * (cluster.ts) asks {@link unhealthyCause} when a rollout settles, so a workload restarted onto the
 * bad value stays unavailable, and one restarted after the value changed back recovers.
 */
import { isObject, type Json, type JsonObject } from './patch.js';

/** `<namespace>/<secret>:<key>=<value>`, as `npm run dev:cluster -- --unhealthy-when` takes it. */
export interface UnhealthyRule {
  namespace: string;
  secret: string;
  key: string;
  value: string;
}

const RULE = /^([^/\s]+)\/([^:\s]+):([^=\s]+)=(.*)$/s;

/** Parses `<namespace>/<secret>:<key>=<value>`; the error names the expected form, never the value. */
export function parseUnhealthyRule(text: string): UnhealthyRule {
  const match = RULE.exec(text);
  if (match === null)
    throw new Error(
      '--unhealthy-when: expected <namespace>/<secret>:<key>=<value>, e.g. apps/db:password=wrong',
    );
  const [, namespace = '', secret = '', key = '', value = ''] = match;
  return { namespace, secret, key, value };
}

const list = (value: Json | undefined): JsonObject[] => (Array.isArray(value) ? value.filter(isObject) : []);
const field = (value: Json | undefined, key: string): Json | undefined =>
  isObject(value) ? value[key] : undefined;

/** The Secrets a pod template reads, by key (`undefined` key: every key, as envFrom and volumes do). */
function secretUses(podSpec: JsonObject): { secret: string; key?: string }[] {
  const uses: { secret: string; key?: string }[] = [];
  const containers = [...list(podSpec.containers), ...list(podSpec.initContainers)];
  for (const container of containers) {
    for (const env of list(container.env)) {
      const ref = field(field(env, 'valueFrom'), 'secretKeyRef');
      const secret = field(ref, 'name');
      const key = field(ref, 'key');
      if (typeof secret === 'string') uses.push({ secret, ...(typeof key === 'string' ? { key } : {}) });
    }
    for (const from of list(container.envFrom)) {
      const secret = field(field(from, 'secretRef'), 'name');
      if (typeof secret === 'string') uses.push({ secret });
    }
  }
  for (const volume of list(podSpec.volumes)) {
    const secret = field(field(volume, 'secret'), 'secretName');
    if (typeof secret === 'string') uses.push({ secret });
  }
  return uses;
}

/**
 * Why `workload` cannot become available, or undefined when no rule applies: a rule's Secret in
 * the workload's namespace holds the rule's value under its key, and the pod template reads that
 * key. `secretData` looks up a Secret's `data` (base64 values) by namespace and name.
 */
export function unhealthyCause(
  rules: readonly UnhealthyRule[],
  namespace: string,
  workload: JsonObject,
  secretData: (namespace: string, name: string) => JsonObject | undefined,
): string | undefined {
  if (rules.length === 0) return undefined;
  const podSpec = field(field(field(workload, 'spec'), 'template'), 'spec');
  if (!isObject(podSpec)) return undefined;
  const uses = secretUses(podSpec);
  for (const rule of rules) {
    if (rule.namespace !== namespace) continue;
    if (!uses.some((use) => use.secret === rule.secret && (use.key === undefined || use.key === rule.key)))
      continue;
    const held = secretData(namespace, rule.secret)?.[rule.key];
    if (typeof held === 'string' && Buffer.from(held, 'base64').toString('utf8') === rule.value)
      return `pods crash-loop: the value of key "${rule.key}" of Secret "${rule.secret}" is rejected by the application`;
  }
  return undefined;
}
