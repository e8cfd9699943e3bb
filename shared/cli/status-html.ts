/**
 * `status --output html`: one self-contained page (inline CSS, no script, no external asset;
 * its Content-Security-Policy forbids loading anything) with the per-binding summary, a fleet
 * grid of clusters by bindings coloured by state, and the exceptions with their causes.
 * Every text is escaped; it holds identifiers, versions and causes only, never a value.
 */
import { TARGET_STATES, type BindingStatus, type TargetState, type TargetStatus } from '../engine/status.js';
import { EXCEPTION_ORDER, causeOf, countsText, isException } from './status-view.js';

/** One colour per state; the grid, the legend and the bars share them. */
export const STATE_COLOURS: Readonly<Record<TargetState, string>> = {
  current: '#2e7d32',
  behind: '#f9a825',
  drifted: '#ef6c00',
  'restart-pending': '#8e24aa',
  missing: '#90a4ae',
  unreachable: '#e53935',
  failed: '#7f0000',
  skipped: '#d7dde0',
  unknown: '#455a64',
};

/** Short class names keep a 30,000-cell grid small. */
const CLASS: Readonly<Record<TargetState, string>> = {
  current: 'cu',
  behind: 'be',
  drifted: 'dr',
  'restart-pending': 'rp',
  missing: 'mi',
  unreachable: 'un',
  failed: 'fa',
  skipped: 'sk',
  unknown: 'uk',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function styles(): string {
  const states = TARGET_STATES.map((s) => `.${CLASS[s]}{background:${STATE_COLOURS[s]}}`).join('');
  return `body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1c2329;background:#fafbfc}
h1{font-size:1.4rem;margin:0 0 .2rem}h2{font-size:1.1rem;margin:1.6rem 0 .5rem}
.meta{color:#5b6770;margin-bottom:1rem}
.legend span{display:inline-flex;align-items:center;margin-right:1rem}
.legend i{display:inline-block;width:.9rem;height:.9rem;border-radius:2px;margin-right:.3rem}
table{border-collapse:collapse}
.summary td,.summary th,.exceptions td,.exceptions th{padding:.25rem .6rem;text-align:left;border-bottom:1px solid #e3e7ea}
.bar{display:flex;width:18rem;height:.9rem;border-radius:2px;overflow:hidden;background:#eceff1}
.bar i{display:block;height:100%}
.grid{font-size:12px}.grid th{font-weight:normal;white-space:nowrap}
.grid thead th{position:sticky;top:0;background:#fafbfc;height:8rem;vertical-align:bottom}
.grid thead th div{writing-mode:vertical-rl;transform:rotate(180deg);max-height:8rem;overflow:hidden}
.grid tbody th{text-align:right;padding-right:.5rem}
.grid td{width:1rem;height:1rem;border:1px solid #fafbfc;padding:0}
.grid td.no{background:transparent}
.ok{color:#2e7d32;font-weight:600}.bad{color:#c62828;font-weight:600}
${states}`;
}

function legend(bindings: readonly BindingStatus[]): string {
  const totals = new Map<TargetState, number>(TARGET_STATES.map((s) => [s, 0]));
  for (const b of bindings) for (const s of TARGET_STATES) totals.set(s, (totals.get(s) ?? 0) + b.counts[s]);
  return `<p class="legend">${TARGET_STATES.map(
    (s) => `<span data-legend="${s}"><i class="${CLASS[s]}"></i>${s} (${totals.get(s) ?? 0})</span>`,
  ).join('')}<span><i style="border:1px solid #cfd8dc"></i>not targeted</span></p>`;
}

function bar(binding: BindingStatus): string {
  const total = Math.max(1, binding.targets.length);
  return `<div class="bar">${['current', ...EXCEPTION_ORDER]
    .map((s) => s as TargetState)
    .filter((s) => binding.counts[s] > 0)
    .map(
      (s) => `<i class="${CLASS[s]}" style="width:${((100 * binding.counts[s]) / total).toFixed(2)}%"></i>`,
    )
    .join('')}</div>`;
}

function summary(bindings: readonly BindingStatus[]): string {
  const rows = bindings.map(
    (b) =>
      `<tr data-binding="${escapeHtml(b.binding)}"><th>${escapeHtml(b.binding)}</th><td>${escapeHtml(b.source)}</td>` +
      `<td>${escapeHtml(b.version ?? `not readable: ${b.error?.code ?? '?'}`)}</td><td>${bar(b)}</td>` +
      `<td>${escapeHtml(countsText(b))}</td></tr>`,
  );
  return `<table class="summary"><thead><tr><th>binding</th><th>source</th><th>store version</th><th></th><th>targets</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function cellTitle(t: TargetStatus): string {
  const holds = t.version === undefined ? '' : `, holds ${t.version}`;
  const cause = t.reason === undefined && t.errorCode === undefined ? '' : ` (${causeOf(t)})`;
  return `${t.cluster} / ${t.binding}: ${t.state}${holds}${cause}`;
}

/** Clusters as rows, bindings as columns; a cell's colour is its state. */
function grid(bindings: readonly BindingStatus[]): string {
  const clusters: string[] = [];
  const byCluster = new Map<string, Map<string, TargetStatus>>();
  for (const [column, b] of bindings.entries()) {
    for (const t of b.targets) {
      let row = byCluster.get(t.cluster);
      if (row === undefined) {
        byCluster.set(t.cluster, (row = new Map<string, TargetStatus>()));
        clusters.push(t.cluster);
      }
      row.set(String(column), t);
    }
  }
  clusters.sort((a, b) => a.localeCompare(b));
  const head = bindings.map(
    (b) => `<th title="${escapeHtml(b.binding)}"><div>${escapeHtml(b.binding)}</div></th>`,
  );
  const rows = clusters.map((cluster) => {
    const row = byCluster.get(cluster);
    const cells = bindings.map((_, column) => {
      const t = row?.get(String(column));
      if (t === undefined) return '<td class="no"></td>';
      // Current cells carry no tooltip: the row and column name them, and the page stays small.
      return t.state === 'current'
        ? '<td class="cu"></td>'
        : `<td class="${CLASS[t.state]}" data-state="${t.state}" title="${escapeHtml(cellTitle(t))}"></td>`;
    });
    return `<tr><th>${escapeHtml(cluster)}</th>${cells.join('')}</tr>`;
  });
  return `<table class="grid" data-clusters="${clusters.length}"><thead><tr><th></th>${head.join('')}</tr></thead><tbody>${rows.join('\n')}</tbody></table>`;
}

function exceptions(bindings: readonly BindingStatus[]): string {
  const store = new Map(bindings.map((b) => [b.binding, b.version ?? '?']));
  const rows = bindings
    .flatMap((b) => b.targets.filter(isException))
    .sort(
      (a, b) =>
        EXCEPTION_ORDER.indexOf(a.state) - EXCEPTION_ORDER.indexOf(b.state) ||
        a.cluster.localeCompare(b.cluster) ||
        a.binding.localeCompare(b.binding),
    )
    .map(
      (t) =>
        `<tr data-state="${t.state}"><td>${escapeHtml(t.cluster)}</td><td>${escapeHtml(t.binding)}</td>` +
        `<td>${escapeHtml(`${t.namespace}/${t.secret}`)}</td><td><i class="${CLASS[t.state]}" style="display:inline-block;width:.7rem;height:.7rem"></i> ${t.state}</td>` +
        `<td>${escapeHtml(t.version ?? '-')}</td><td>${escapeHtml(store.get(t.binding) ?? '?')}</td><td>${escapeHtml(causeOf(t))}</td></tr>`,
    );
  if (rows.length === 0)
    return '<p class="ok" id="all-current">Every target holds its store\u2019s current version.</p>';
  return `<table class="exceptions"><thead><tr><th>cluster</th><th>binding</th><th>secret</th><th>state</th><th>holds</th><th>store</th><th>cause</th></tr></thead><tbody>${rows.join('\n')}</tbody></table>`;
}

/** The whole page for `bindings`, generated at `generatedAt`. */
export function statusHtml(bindings: readonly BindingStatus[], generatedAt: Date): string {
  const errors = bindings.filter((b) => b.error !== undefined);
  const storeErrors =
    errors.length === 0
      ? ''
      : `<h2>Stores not readable</h2><ul class="bad">${errors
          .map(
            (b) =>
              `<li>${escapeHtml(`${b.binding}: ${b.error?.code ?? ''}: ${b.error?.message ?? ''}`)}</li>`,
          )
          .join('')}</ul>`;
  const targets = bindings.reduce((n, b) => n + b.targets.length, 0);
  const current = bindings.reduce((n, b) => n + b.counts.current, 0);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>secret-propagator fleet status</title><style>${styles()}</style></head>
<body>
<h1>Fleet status</h1>
<p class="meta">${current} of ${targets} target(s) across ${bindings.length} binding(s) hold their store\u2019s current version \u00b7 generated ${escapeHtml(generatedAt.toISOString())}</p>
${legend(bindings)}
${storeErrors}
<h2>Bindings</h2>
${summary(bindings)}
<h2>Exceptions</h2>
${exceptions(bindings)}
<h2>Fleet</h2>
${grid(bindings)}
</body></html>
`;
}
