import { TemplateExecError, anyMap, arity, str, type TemplateFunction } from './args.js';
import { hasKey, newMap, type GoMap } from './values.js';

/**
 * Sprig's path functions (Go's `path`, and `path/filepath`, which on Linux is the same)
 * and `urlParse` / `urlJoin` (Go's net/url). Pure string functions: nothing touches the
 * filesystem or the network.
 */

/** path.Clean. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const joined = out.join('/');
  if (rooted) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

function basePath(p: string): string {
  if (p === '') return '.';
  const trimmed = p.replace(/\/+$/, '');
  if (trimmed === '') return '/';
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

function dirPath(p: string): string {
  return cleanPath(p.slice(0, p.lastIndexOf('/') + 1));
}

function extPath(p: string): string {
  for (let i = p.length - 1; i >= 0 && p[i] !== '/'; i--) if (p[i] === '.') return p.slice(i);
  return '';
}

type Mode = 'path' | 'host' | 'userinfo' | 'fragment';

/** net/url's shouldEscape. */
function shouldEscape(c: string, mode: Mode): boolean {
  if (/[A-Za-z0-9]/.test(c)) return false;
  if (mode === 'host' && `!$&'()*+,;=:[]<>"`.includes(c)) return false;
  if ('-_.~'.includes(c)) return false;
  if ('$&+,/:;=?@'.includes(c)) {
    if (mode === 'path') return c === '?';
    if (mode === 'userinfo') return '@/?:'.includes(c);
    if (mode === 'fragment') return false;
  }
  if (mode === 'fragment' && '!()*'.includes(c)) return false;
  return true;
}

function escape(text: string, mode: Mode): string {
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(b);
    out += b < 0x80 && !shouldEscape(c, mode) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function unescape(text: string): string {
  if (/%(?![0-9A-Fa-f]{2})/.test(text))
    throw new TemplateExecError('error calling urlParse: invalid URL escape');
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '%') {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(text[i] ?? '', 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** url.Parse, for the fields Sprig's urlParse returns. */
function parseUrl(raw: string): GoMap {
  const fail = (why: string) => new TemplateExecError(`error calling urlParse: unable to parse url: ${why}`);
  const hash = raw.indexOf('#');
  const fragment = hash < 0 ? '' : unescape(raw.slice(hash + 1));
  let rest = hash < 0 ? raw : raw.slice(0, hash);
  if (/[\x00-\x1f\x7f]/.test(rest)) throw fail('invalid control character in URL');
  let scheme = '';
  const sm = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(rest);
  if (sm !== null) {
    scheme = (sm[1] ?? '').toLowerCase();
    rest = rest.slice(sm[0].length);
  } else if (rest.startsWith(':')) throw fail('missing protocol scheme');
  let query = '';
  const q = rest.indexOf('?');
  if (q >= 0) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  const url: GoMap = newMap();
  Object.assign(url, { scheme, host: '', hostname: '', path: '', query, opaque: '', fragment, userinfo: '' });
  if (!rest.startsWith('/') && scheme !== '') {
    url['opaque'] = rest;
    return url;
  }
  if (!rest.startsWith('/')) {
    const colon = rest.indexOf(':');
    const slash = rest.indexOf('/');
    if (colon >= 0 && (slash < 0 || colon < slash))
      throw fail('first path segment in URL cannot contain colon');
  }
  if (rest.startsWith('//') && (scheme !== '' || !rest.startsWith('///'))) {
    const end = rest.indexOf('/', 2);
    const authority = end < 0 ? rest.slice(2) : rest.slice(2, end);
    rest = end < 0 ? '' : rest.slice(end);
    const at = authority.lastIndexOf('@');
    const host = unescape(authority.slice(at + 1));
    if (at >= 0) url['userinfo'] = userinfoString(authority.slice(0, at));
    url['host'] = host;
    url['hostname'] = hostname(host);
  }
  url['path'] = unescape(rest);
  return url;
}

/** Userinfo.String(): the user name and password, each unescaped then escaped again. */
function userinfoString(raw: string, fn = 'urlParse'): string {
  if (!/^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(raw))
    throw new TemplateExecError(`error calling ${fn}: net/url: invalid userinfo`);
  const colon = raw.indexOf(':');
  if (colon < 0) return escape(unescape(raw), 'userinfo');
  return `${escape(unescape(raw.slice(0, colon)), 'userinfo')}:${escape(unescape(raw.slice(colon + 1)), 'userinfo')}`;
}

function hostname(host: string): string {
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    return close < 0 ? host.slice(1) : host.slice(1, close);
  }
  const colon = host.lastIndexOf(':');
  return colon >= 0 && /^\d*$/.test(host.slice(colon + 1)) ? host.slice(0, colon) : host;
}

function field(map: GoMap, key: string): string {
  if (!hasKey(map, key)) return '';
  const v = map[key];
  if (typeof v !== 'string')
    throw new TemplateExecError(`error calling urlJoin: unable to parse ${key} key, must be of type string`);
  return v;
}

/** url.URL.String() for the fields Sprig's urlJoin reads. */
function joinUrl(map: GoMap): string {
  const [scheme, host, path, query, opaque, fragment, userinfo] = [
    'scheme',
    'host',
    'path',
    'query',
    'opaque',
    'fragment',
    'userinfo',
  ].map((k) => field(map, k)) as [string, string, string, string, string, string, string];
  let out = '';
  if (opaque !== '') out += `${scheme}:${opaque}`;
  else {
    if (scheme !== '') out += `${scheme}:`;
    const user = userinfo === '' ? undefined : userinfoString(userinfo, 'urlJoin');
    if (scheme !== '' || host !== '' || user !== undefined) {
      if (host !== '' || path !== '' || user !== undefined) out += '//';
      if (user !== undefined) out += `${user}@`;
      if (host !== '') out += escape(host, 'host');
    }
    const escaped = escape(path, 'path');
    if (escaped !== '' && !escaped.startsWith('/') && host !== '') out += '/';
    if (out === '') {
      const slash = escaped.indexOf('/');
      const colon = escaped.indexOf(':');
      if (colon >= 0 && (slash < 0 || colon < slash)) out += './';
    }
    out += escaped;
  }
  if (query !== '') out += `?${query}`;
  if (fragment !== '') out += `#${escape(fragment, 'fragment')}`;
  return out;
}

type Entry = [string, TemplateFunction];

function pathFn(name: string, fn: (p: string) => string | boolean): Entry {
  return [name, (a) => (arity(name, a, 1), fn(str(name, a, 0)))];
}

/** Sprig's path and URL functions, by name. */
export const pathFunctions: Entry[] = [
  ...(['', 'os'] as const).flatMap((prefix): Entry[] => {
    const n = (base: string) => (prefix === '' ? base : `${prefix}${base[0]?.toUpperCase()}${base.slice(1)}`);
    return [
      pathFn(n('base'), basePath),
      pathFn(n('dir'), dirPath),
      pathFn(n('clean'), cleanPath),
      pathFn(n('ext'), extPath),
      pathFn(n('isAbs'), (p) => p.startsWith('/')),
    ];
  }),
  ['urlParse', (a) => (arity('urlParse', a, 1), parseUrl(str('urlParse', a, 0)))],
  ['urlJoin', (a) => (arity('urlJoin', a, 1), joinUrl(anyMap('urlJoin', a, 0)))],
];
