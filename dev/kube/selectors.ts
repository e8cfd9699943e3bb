/**
 * Kubernetes label selectors (the query-string form): equality (`a=b`, `a==b`, `a!=b`),
 * set-based (`a in (x,y)`, `a notin (x)`), existence (`a`, `!a`), comma-joined (AND).
 */
export type LabelPredicate = (labels: Record<string, string>) => boolean;

export class SelectorError extends Error {}

/** Splits on commas that are not inside parentheses. */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (ch === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  terms.push(current);
  return terms.map((t) => t.trim()).filter((t) => t.length > 0);
}

function parseTerm(term: string): LabelPredicate {
  const set = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (set) {
    const [, key = '', op, list = ''] = set;
    const values = new Set(
      list
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v.length > 0),
    );
    return op === 'in'
      ? (labels) => labels[key] !== undefined && values.has(labels[key])
      : (labels) => labels[key] === undefined || !values.has(labels[key]);
  }
  const equality = /^([^\s!=]+)\s*(==|=|!=)\s*([^\s,]*)$/.exec(term);
  if (equality) {
    const [, key = '', op, value = ''] = equality;
    return op === '!=' ? (labels) => labels[key] !== value : (labels) => labels[key] === value;
  }
  const exists = /^(!?)([^\s!=(),]+)$/.exec(term);
  if (exists) {
    const [, not, key = ''] = exists;
    return not === '!' ? (labels) => labels[key] === undefined : (labels) => labels[key] !== undefined;
  }
  throw new SelectorError(`unable to parse requirement: ${JSON.stringify(term)}`);
}

export function parseLabelSelector(selector: string | null | undefined): LabelPredicate {
  if (selector === null || selector === undefined || selector.trim() === '') return () => true;
  const predicates = splitTerms(selector).map(parseTerm);
  return (labels) => predicates.every((p) => p(labels));
}

/** Field selectors: only `metadata.name` and `metadata.namespace` (`=`, `==`, `!=`), which is what kubectl uses. */
export function parseFieldSelector(
  selector: string | null | undefined,
): (obj: { metadata: { name: string; namespace?: string } }) => boolean {
  if (selector === null || selector === undefined || selector.trim() === '') return () => true;
  const predicates = splitTerms(selector).map((term) => {
    const m = /^(metadata\.name|metadata\.namespace)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw new SelectorError(`field label not supported: ${term.split(/[=!]/)[0] ?? term}`);
    const [, field, op, value] = m;
    const read = (o: { metadata: { name: string; namespace?: string } }): string | undefined =>
      field === 'metadata.name' ? o.metadata.name : o.metadata.namespace;
    return op === '!='
      ? (o: { metadata: { name: string; namespace?: string } }) => read(o) !== value
      : (o: { metadata: { name: string; namespace?: string } }) => read(o) === value;
  });
  return (obj) => predicates.every((p) => p(obj));
}
