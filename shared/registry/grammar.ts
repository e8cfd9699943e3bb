import { DURATION_PATTERN, parseDuration } from '../core/duration.js';

/**
 * The value grammars the registry checks beyond "a non-empty string": Kubernetes names,
 * schedule expressions, duration bounds and CA bundles. Each check returns the problem
 * in words (the schema puts the path in front), or undefined when the value is fine.
 */

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A namespace name: an RFC 1123 label (lowercase alphanumerics and "-", at most 63). */
export function dns1123LabelProblem(value: string): string | undefined {
  if (value.length > 63 || !DNS_LABEL.test(value))
    return 'must be a DNS-1123 label: at most 63 lowercase letters, digits and "-", starting and ending alphanumeric';
  return undefined;
}

/** A Secret name: an RFC 1123 subdomain (dot-separated labels, at most 253). */
export function dns1123SubdomainProblem(value: string): string | undefined {
  if (value.length > 253 || !value.split('.').every((label) => DNS_LABEL.test(label)))
    return 'must be a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", each part starting and ending alphanumeric, at most 253';
  return undefined;
}

/** Field name, numeric range and the names it also accepts (EventBridge cron). */
interface CronField {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** Extra single tokens (`?`, `L`) and suffix forms (`5W`, `6L`, `2#3`) the field allows. */
  special?: RegExp;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const MINUTE: CronField = { name: 'minutes', min: 0, max: 59 };
const HOUR: CronField = { name: 'hours', min: 0, max: 23 };
const MONTH: CronField = { name: 'month', min: 1, max: 12, names: MONTHS };

/** EventBridge: minutes hours day-of-month month day-of-week year. */
const EVENTBRIDGE_FIELDS: readonly CronField[] = [
  MINUTE,
  HOUR,
  { name: 'day-of-month', min: 1, max: 31, special: /^(\?|L|LW|([1-9]|[12]\d|3[01])W)$/ },
  MONTH,
  { name: 'day-of-week', min: 1, max: 7, names: DAYS, special: /^(\?|L|[1-7]L|[1-7]#[1-5])$/ },
  { name: 'year', min: 1970, max: 2199 },
];
/** Unix cron, as Cloud Scheduler takes it: minute hour day-of-month month day-of-week. */
const UNIX_FIELDS: readonly CronField[] = [
  MINUTE,
  HOUR,
  { name: 'day-of-month', min: 1, max: 31 },
  MONTH,
  { name: 'day-of-week', min: 0, max: 7, names: DAYS },
];

function valueOk(token: string, field: CronField): boolean {
  if (/^\d{1,4}$/.test(token)) return Number(token) >= field.min && Number(token) <= field.max;
  return field.names?.includes(token.toUpperCase()) ?? false;
}

/** One comma-separated item: `*`, `5`, `1-5`, `*\/15`, `10-40/5`, or a field's special form. */
function itemOk(item: string, field: CronField): boolean {
  if (field.special?.test(item.toUpperCase()) === true) return true;
  const [range = '', step, ...rest] = item.split('/');
  if (rest.length > 0 || (step !== undefined && !(/^\d{1,4}$/.test(step) && Number(step) > 0))) return false;
  if (range === '*') return true;
  const bounds = range.split('-');
  return bounds.length <= 2 && bounds.every((bound) => valueOk(bound, field));
}

function cronProblem(
  fields: readonly string[],
  grammar: readonly CronField[],
  form: string,
): string | undefined {
  if (fields.length !== grammar.length)
    return `${form} needs ${grammar.length} fields (${grammar.map((f) => f.name).join(' ')})`;
  for (const [i, field] of grammar.entries()) {
    const text = fields[i] ?? '';
    if (!text.split(',').every((item) => itemOk(item, field)))
      return `${form}: field ${field.name} "${text}" is not valid`;
  }
  return undefined;
}

/**
 * A schedule as the clouds take it: EventBridge `rate(N unit)` and `cron(m h dom mon dow year)`,
 * or a 5-field unix cron as Cloud Scheduler takes it (infra/gcp translates the other two).
 */
export function scheduleProblem(expression: string): string | undefined {
  const hint = 'expected rate(N minutes|hours|days), cron(m h dom mon dow year) or a 5-field unix cron';
  const rate = /^rate\((\d{1,9}) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate !== null) {
    const value = Number(rate[1]);
    const plural = rate[2]?.endsWith('s') === true;
    if (value < 1) return `rate must be at least 1 (${hint})`;
    // EventBridge refuses "rate(1 minutes)" and "rate(5 minute)".
    if (plural !== value > 1)
      return `rate(${value} ...) takes the ${value === 1 ? 'singular' : 'plural'} unit`;
    return undefined;
  }
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (cron !== null) {
    const fields = (cron[1] ?? '').trim().split(/\s+/);
    const problem = cronProblem(fields, EVENTBRIDGE_FIELDS, 'cron(...)');
    if (problem !== undefined) return problem;
    // EventBridge: one of day-of-month and day-of-week must be "?".
    if ((fields[2] === '?') === (fields[4] === '?'))
      return 'cron(...): exactly one of day-of-month and day-of-week must be "?"';
    return undefined;
  }
  const fields = expression.trim().split(/\s+/);
  if (fields.length === 5 && /^[\d*?,/#LW\-A-Za-z ]+$/.test(expression))
    return cronProblem(fields, UNIX_FIELDS, 'unix cron');
  return `"${expression.slice(0, 64)}" is not a schedule (${hint})`;
}

/** A duration within [min, max] (both Go-style durations, `1s`, `15m`). */
export function durationRangeProblem(text: string, min: string, max: string): string | undefined {
  // Text outside the grammar is the duration pattern's problem to report, not this range's.
  if (!DURATION_PATTERN.test(text)) return undefined;
  const ms = parseDuration(text);
  if (ms < parseDuration(min) || ms > parseDuration(max)) return `must be between ${min} and ${max}`;
  return undefined;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/;

/**
 * `caData`: base64 of PEM (what kubeconfig's certificate-authority-data holds) or the PEM
 * itself; either way it must carry at least one certificate that parses.
 */
export function caDataProblem(value: string): string | undefined {
  const problem = 'must be base64 of a PEM CA bundle (at least one -----BEGIN CERTIFICATE----- block)';
  const trimmed = value.trim();
  let text = trimmed;
  if (!trimmed.includes('-----BEGIN')) {
    if (!/^[A-Za-z0-9+/=\s]+$/.test(trimmed)) return problem;
    text = Buffer.from(trimmed, 'base64').toString('utf8');
  }
  const body = PEM_CERTIFICATE.exec(text)?.[1];
  if (body === undefined) return problem;
  // Syntax only (the TLS handshake is the real check): the block holds DER, which starts with a SEQUENCE.
  if (Buffer.from(body, 'base64')[0] !== 0x30) return `${problem}; its first block is not DER`;
  return undefined;
}
