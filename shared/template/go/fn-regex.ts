import { TemplateExecError, arity, int, str, type TemplateFunction } from './args.js';
import {
  GoRegexSyntaxError,
  UnsupportedRegexError,
  compileGoRegex,
  findAll,
  quoteMeta,
  replaceAll,
  split,
  type GoRegex,
} from './regex.js';
import { nilSlice, typedSlice, type GoValue } from './values.js';

/**
 * Sprig's regex functions. An invalid pattern behaves as in Sprig: `regexMatch` is false,
 * the other plain variants fail (Go's MustCompile panics), the must* variants fail. A
 * pattern Go accepts but we cannot translate faithfully always fails, with a message
 * naming the construct (never the pattern, which may be built from secret values).
 */

type Compiled = { rx: GoRegex } | { invalid: true };

function compile(name: string, pattern: string): Compiled {
  try {
    return { rx: compileGoRegex(pattern) };
  } catch (error) {
    if (error instanceof UnsupportedRegexError)
      throw new TemplateExecError(
        `error calling ${name}: regular expression not supported: ${error.message}`,
      );
    if (error instanceof GoRegexSyntaxError) return { invalid: true };
    throw error;
  }
}

function mustCompile(name: string, pattern: string): GoRegex {
  const c = compile(name, pattern);
  if ('invalid' in c) throw new TemplateExecError(`error calling ${name}: error parsing regexp`);
  return c.rx;
}

type Body = (rx: GoRegex, a: GoValue[]) => GoValue;

/** The plain and must variants of a function that fails on an invalid pattern either way. */
function pair(name: string, count: number, body: Body): [string, TemplateFunction][] {
  const must = `must${name[0]?.toUpperCase() ?? ''}${name.slice(1)}`;
  return [name, must].map((n): [string, TemplateFunction] => [
    n,
    (a) => {
      arity(n, a, count);
      return body(mustCompile(n, str(n, a, 0)), a);
    },
  ]);
}

/** Sprig's regex functions, by name. */
export const regexFunctions: [string, TemplateFunction][] = [
  [
    'regexMatch',
    (a) => {
      arity('regexMatch', a, 2);
      const c = compile('regexMatch', str('regexMatch', a, 0));
      if ('invalid' in c) return false;
      return findAll(c.rx, str('regexMatch', a, 1), 1).length > 0;
    },
  ],
  [
    'mustRegexMatch',
    (a) => {
      arity('mustRegexMatch', a, 2);
      const rx = mustCompile('mustRegexMatch', str('mustRegexMatch', a, 0));
      return findAll(rx, str('mustRegexMatch', a, 1), 1).length > 0;
    },
  ],
  ...pair('regexFindAll', 3, (rx, a) => {
    const n = int('regexFindAll', a, 2);
    if (n === 0) return nilSlice('string');
    return typedSlice(
      findAll(rx, str('regexFindAll', a, 1), n).map((m) => str('regexFindAll', a, 1).slice(m.start, m.end)),
      'string',
    );
  }),
  ...pair('regexFind', 2, (rx, a) => {
    const text = str('regexFind', a, 1);
    const m = findAll(rx, text, 1)[0];
    return m === undefined ? '' : text.slice(m.start, m.end);
  }),
  ...pair('regexReplaceAll', 3, (rx, a) =>
    replaceAll(rx, str('regexReplaceAll', a, 1), str('regexReplaceAll', a, 2), false),
  ),
  ...pair('regexReplaceAllLiteral', 3, (rx, a) =>
    replaceAll(rx, str('regexReplaceAllLiteral', a, 1), str('regexReplaceAllLiteral', a, 2), true),
  ),
  ...pair('regexSplit', 3, (rx, a) => {
    const parts = split(rx, str('regexSplit', a, 0), str('regexSplit', a, 1), int('regexSplit', a, 2));
    return parts === undefined ? nilSlice('string') : typedSlice(parts, 'string');
  }),
  ['regexQuoteMeta', (a) => (arity('regexQuoteMeta', a, 1), quoteMeta(str('regexQuoteMeta', a, 0)))],
];
