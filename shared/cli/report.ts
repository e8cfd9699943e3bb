import { emptyCounts } from '../engine/report.js';
import type { ChangeReport, Outcome, TargetResult } from '../engine/types.js';
import { formatMs, renderTable } from './table.js';

/** The per-target summary table printed by `sync`, `restart` and `npm start`. */
export function targetsTable(reports: readonly ChangeReport[]): string {
  const rows = reports
    .flatMap((r) => r.targets)
    .sort(
      (a, b) =>
        a.cluster.localeCompare(b.cluster) ||
        a.namespace.localeCompare(b.namespace) ||
        a.secret.localeCompare(b.secret),
    )
    .map((t) => [
      t.cluster,
      t.namespace,
      t.secret,
      t.binding,
      outcomeText(t),
      t.version ?? '-',
      restartsText(t),
      formatMs(t.durationMs),
    ]);
  return renderTable(
    ['CLUSTER', 'NAMESPACE', 'SECRET', 'BINDING', 'OUTCOME', 'VERSION', 'RESTARTS', 'TIME'],
    rows,
  );
}

function outcomeText(t: TargetResult): string {
  if (t.outcome === 'failed')
    return `failed (${t.errorCode ?? 'Internal'}${t.retryable === true ? ', retryable' : ''})`;
  if (t.outcome === 'skipped' && t.reason !== undefined) return `skipped (${t.reason})`;
  return t.outcome;
}

function restartsText(t: TargetResult): string {
  if (t.restarts.length === 0) return '-';
  const ok = t.restarts.filter((r) => r.outcome === 'restarted');
  const failed = t.restarts.length - ok.length;
  const names = ok.map((r) => `${r.kind}/${r.name}`).join(',');
  return failed === 0 ? names : `${names}${names === '' ? '' : ' '}(${failed} failed)`;
}

export interface Totals {
  targets: number;
  counts: Record<Outcome, number>;
  restarts: number;
  failedRestarts: number;
  bindingErrors: { binding: string; code: string; message: string }[];
}

export function totalsOf(reports: readonly ChangeReport[]): Totals {
  const counts: Record<Outcome, number> = emptyCounts();
  let restarts = 0;
  let failedRestarts = 0;
  let targets = 0;
  for (const report of reports) {
    for (const t of report.targets) {
      targets++;
      counts[t.outcome]++;
      for (const r of t.restarts) {
        if (r.outcome === 'restarted') restarts++;
        else failedRestarts++;
      }
    }
  }
  const bindingErrors = reports.flatMap((r) =>
    r.error === undefined ? [] : [{ binding: r.binding, code: r.error.code, message: r.error.message }],
  );
  return { targets, counts, restarts, failedRestarts, bindingErrors };
}

/** Whether the run needs a non-zero exit: a failed target, a failed restart or a binding-level error. */
export function hasFailures(totals: Totals): boolean {
  return totals.counts.failed > 0 || totals.failedRestarts > 0 || totals.bindingErrors.length > 0;
}

export function totalsLine(totals: Totals, durationMs: number): string {
  const { counts } = totals;
  return (
    `${totals.targets} target(s): ${counts.created} created, ${counts.updated} updated, ${counts.unchanged} unchanged, ` +
    `${counts.skipped} skipped, ${counts.failed} failed${counts.deleted > 0 ? `, ${counts.deleted} deleted` : ''}; ${totals.restarts} restart(s)` +
    `${totals.failedRestarts > 0 ? `, ${totals.failedRestarts} restart(s) failed` : ''} in ${formatMs(durationMs)}`
  );
}
