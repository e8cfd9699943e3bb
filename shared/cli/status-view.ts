/**
 * `status` as text and JSON: a summary line per binding, then the exceptions (every target
 * that is not current), or every row when asked. Identifiers, versions and causes only.
 */
import type { BindingStatus, TargetState, TargetStatus } from '../engine/status.js';
import { renderTable } from './table.js';

/** The states worth a line of their own, most urgent first (the order of exceptions). */
export const EXCEPTION_ORDER: readonly TargetState[] = [
  'failed',
  'unreachable',
  'unknown',
  'restart-pending',
  'drifted',
  'behind',
  'missing',
  'skipped',
];

/** Whether a target is not at the store's current version. */
export function isException(target: TargetStatus): boolean {
  return target.state !== 'current';
}

/** Whether a target says something needs doing (skips are by design: a namespace not allowed there). */
export function needsAttention(target: TargetStatus): boolean {
  return target.state !== 'current' && target.state !== 'skipped';
}

/** The bindings with only their exceptions, and only the bindings that have some (`--behind`). */
export function onlyBehind(bindings: readonly BindingStatus[]): BindingStatus[] {
  return bindings
    .map((b) => ({ ...b, targets: b.targets.filter(isException) }))
    .filter((b) => b.targets.length > 0 || b.error !== undefined);
}

/** `1498/1500 current, 1 behind, 1 unreachable` (states with no target left out). */
export function countsText(binding: BindingStatus): string {
  const total = Object.values(binding.counts).reduce((a, b) => a + b, 0);
  const others = EXCEPTION_ORDER.filter((s) => binding.counts[s] > 0).map((s) => `${binding.counts[s]} ${s}`);
  return [`${binding.counts.current}/${total} current`, ...others].join(', ');
}

/** One line per binding: its store version and how its targets stand. */
export function summaryLine(binding: BindingStatus): string {
  if (binding.error !== undefined)
    return `${binding.binding}: store not readable (${binding.error.code}: ${binding.error.message}); ${countsText(binding)}`;
  return `${binding.binding} (version ${binding.version ?? '-'}): ${countsText(binding)}`;
}

/** The cause column: the reason, with the error code when there is one. */
export function causeOf(target: TargetStatus): string {
  if (target.errorCode !== undefined) return `${target.errorCode}: ${target.reason ?? ''}`.trim();
  return target.reason ?? '-';
}

function byUrgency(a: TargetStatus, b: TargetStatus): number {
  return (
    EXCEPTION_ORDER.indexOf(a.state) - EXCEPTION_ORDER.indexOf(b.state) ||
    a.cluster.localeCompare(b.cluster) ||
    a.binding.localeCompare(b.binding)
  );
}

/** The rows table: exceptions by urgency, or (`all`) every target by cluster. */
export function targetsTable(bindings: readonly BindingStatus[], all: boolean): string {
  const store = new Map(bindings.map((b) => [b.binding, b.version ?? '?']));
  const targets = bindings.flatMap((b) => (all ? b.targets : b.targets.filter(isException)));
  const sorted = all
    ? targets.sort((a, b) => a.cluster.localeCompare(b.cluster) || a.binding.localeCompare(b.binding))
    : targets.sort(byUrgency);
  return renderTable(
    ['CLUSTER', 'NAMESPACE', 'SECRET', 'BINDING', 'STATE', 'HOLDS', 'STORE', 'CAUSE'],
    sorted.map((t) => [
      t.cluster,
      t.namespace,
      t.secret,
      t.binding,
      t.state,
      t.version ?? '-',
      store.get(t.binding) ?? '?',
      causeOf(t),
    ]),
  );
}

/** The whole text output. */
export function statusText(bindings: readonly BindingStatus[], all: boolean): string {
  if (bindings.length === 0) return 'nothing to show: no binding has a target among the selected clusters';
  const lines = bindings.map(summaryLine);
  const rows = bindings.reduce(
    (n, b) => n + (all ? b.targets.length : b.targets.filter(isException).length),
    0,
  );
  if (rows === 0) return [...lines, '', 'every target holds its store\u2019s current version'].join('\n');
  return [...lines, '', targetsTable(bindings, all)].join('\n');
}

/** The JSON output: one object, bindings with their counts and targets. */
export function statusJson(bindings: readonly BindingStatus[], generatedAt: Date): string {
  return JSON.stringify({ generatedAt: generatedAt.toISOString(), bindings }, null, 2);
}
