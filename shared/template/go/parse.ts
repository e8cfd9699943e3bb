/**
 * A parser for the subset of Go text/template that ESO templates use: text, actions
 * with pipelines, `{{-`/`-}}` trimming, comments, variables, parenthesised pipelines,
 * if / else if / else, range (with `$i, $v :=`), with, and literals. It builds a tree
 * that `exec.ts` interprets; nothing is ever evaluated as JavaScript.
 */

export class TemplateSyntaxError extends Error {}

export type Literal =
  | { k: 'string'; value: string }
  | { k: 'number'; value: number; float: boolean }
  | { k: 'bool'; value: boolean }
  | { k: 'nil' };

export type Operand =
  | Literal
  | { k: 'dot' }
  | { k: 'field'; names: string[] } // .a.b on dot
  | { k: 'variable'; name: string; names: string[] } // $x.a.b
  | { k: 'ident'; name: string } // function name
  | { k: 'chain'; pipe: Pipeline; names: string[] }; // (pipeline).a.b

export interface Command {
  args: Operand[];
}

export interface Pipeline {
  decl: string[];
  /** `=` (assign to existing variables) instead of `:=`. */
  assign: boolean;
  cmds: Command[];
}

export type Node =
  | { k: 'text'; text: string }
  | { k: 'action'; pipe: Pipeline }
  | { k: 'break' }
  | { k: 'continue' }
  | { k: 'if' | 'with' | 'range'; pipe: Pipeline; list: Node[]; elseList: Node[] | undefined };

type Token =
  | { t: 'field'; name: string; space: boolean }
  | { t: 'dot'; space: boolean }
  | { t: 'var'; name: string; space: boolean }
  | { t: 'ident'; name: string; space: boolean }
  | { t: 'string'; value: string; space: boolean }
  | { t: 'number'; value: number; float: boolean; space: boolean }
  | { t: '|' | '(' | ')' | ':=' | '=' | ','; space: boolean };

const keywords = new Set([
  'if',
  'else',
  'end',
  'range',
  'with',
  'define',
  'template',
  'block',
  'break',
  'continue',
]);

type Piece = { k: 'text'; text: string } | { k: 'action'; tokens: Token[] };

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

/** Splits the source into text and action token lists, applying trim markers. */
function split(source: string): Piece[] {
  const pieces: Piece[] = [];
  let pos = 0;
  let trimNext = false;
  while (pos <= source.length) {
    const open = source.indexOf('{{', pos);
    let text = source.slice(pos, open === -1 ? source.length : open);
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, '');
    trimNext = false;
    if (open === -1) {
      if (text !== '') pieces.push({ k: 'text', text });
      break;
    }
    let i = open + 2;
    if (source[i] === '-' && isSpace(source[i + 1])) {
      text = text.replace(/[ \t\r\n]+$/, '');
      i += 2;
    }
    if (text !== '') pieces.push({ k: 'text', text });
    while (isSpace(source[i])) i++;
    if (source.startsWith('/*', i)) {
      const close = source.indexOf('*/', i + 2);
      if (close === -1) throw new TemplateSyntaxError('unclosed comment');
      i = close + 2;
      if (source.startsWith(' -}}', i)) {
        trimNext = true;
        pos = i + 4;
      } else if (source.startsWith('}}', i)) {
        pos = i + 2;
      } else {
        throw new TemplateSyntaxError('comment ends before closing delimiter');
      }
      continue;
    }
    const { tokens, end, trim } = lexAction(source, i);
    pieces.push({ k: 'action', tokens });
    trimNext = trim;
    pos = end;
  }
  return pieces;
}

function lexAction(s: string, start: number): { tokens: Token[]; end: number; trim: boolean } {
  const tokens: Token[] = [];
  let i = start;
  let space = true;
  for (;;) {
    if (i >= s.length) throw new TemplateSyntaxError('unclosed action');
    const c = s[i] ?? '';
    if (isSpace(c)) {
      // " -}}" closes with trimming
      let j = i;
      while (isSpace(s[j])) j++;
      if (s[j] === '-' && s.startsWith('}}', j + 1)) return { tokens, end: j + 3, trim: true };
      i = j;
      space = true;
      continue;
    }
    if (s.startsWith('}}', i)) return { tokens, end: i + 2, trim: false };
    if (c === '|' || c === '(' || c === ')' || c === ',') {
      tokens.push({ t: c, space });
      i++;
    } else if (c === ':' && s[i + 1] === '=') {
      tokens.push({ t: ':=', space });
      i += 2;
    } else if (c === '=') {
      tokens.push({ t: '=', space });
      i++;
    } else if (c === '"') {
      let j = i + 1;
      let raw = '';
      while (j < s.length && s[j] !== '"') {
        if (s[j] === '\n') throw new TemplateSyntaxError('unterminated quoted string');
        if (s[j] === '\\') {
          raw += s.slice(j, j + 2);
          j += 2;
        } else {
          raw += s[j];
          j++;
        }
      }
      if (j >= s.length) throw new TemplateSyntaxError('unterminated quoted string');
      tokens.push({ t: 'string', value: unquoteGo(raw), space });
      i = j + 1;
    } else if (c === '`') {
      const close = s.indexOf('`', i + 1);
      if (close === -1) throw new TemplateSyntaxError('unterminated raw quoted string');
      tokens.push({ t: 'string', value: s.slice(i + 1, close), space });
      i = close + 1;
    } else if (c === '.' && !/[0-9]/.test(s[i + 1] ?? '')) {
      const m = /^\.([A-Za-z_][A-Za-z0-9_]*)?/.exec(s.slice(i));
      const name = m?.[1];
      if (name === undefined) tokens.push({ t: 'dot', space });
      else tokens.push({ t: 'field', name, space });
      i += m?.[0].length ?? 1;
    } else if (c === '$') {
      const m = /^\$[A-Za-z0-9_]*/.exec(s.slice(i));
      const name = m?.[0] ?? '$';
      tokens.push({ t: 'var', name, space });
      i += name.length;
    } else if (/[-+0-9.]/.test(c)) {
      const m = /^[-+]?(0[xX][0-9a-fA-F_]+|0[oO]?[0-7_]+|0[bB][01_]+|(\d[\d_]*)?\.?\d*([eE][-+]?\d+)?)/.exec(
        s.slice(i),
      );
      const text = m?.[0] ?? '';
      if (text === '' || text === '-' || text === '+')
        throw new TemplateSyntaxError(`bad character ${JSON.stringify(c)}`);
      const clean = text.replace(/_/g, '');
      const float = /[.eE]/.test(clean) && !/^[-+]?0[xX]/.test(clean);
      const value = float ? Number(clean) : parseGoInt(clean);
      if (Number.isNaN(value)) throw new TemplateSyntaxError(`bad number syntax: ${JSON.stringify(text)}`);
      tokens.push({ t: 'number', value, float, space });
      i += text.length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i));
      const name = m?.[0] ?? c;
      tokens.push({ t: 'ident', name, space });
      i += name.length;
    } else if (c === "'") {
      const m = /^'(\\.|[^'\\])'/.exec(s.slice(i));
      if (m === null) throw new TemplateSyntaxError('bad character constant');
      tokens.push({ t: 'number', value: unquoteGo(m[1] ?? '').codePointAt(0) ?? 0, float: false, space });
      i += m[0].length;
    } else {
      throw new TemplateSyntaxError(`unexpected ${JSON.stringify(c)} in action`);
    }
    space = false;
  }
}

function parseGoInt(text: string): number {
  const negative = text.startsWith('-');
  const body = text.replace(/^[-+]/, '');
  let value: number;
  if (/^0[xX]/.test(body)) value = parseInt(body.slice(2), 16);
  else if (/^0[bB]/.test(body)) value = parseInt(body.slice(2), 2);
  else if (/^0[oO]/.test(body)) value = parseInt(body.slice(2), 8);
  else if (/^0[0-7]+$/.test(body)) value = parseInt(body.slice(1), 8);
  else value = /^\d+$/.test(body) ? parseInt(body, 10) : NaN;
  return negative ? -value : value;
}

const simpleEscapes: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
  "'": "'",
};

function unquoteGo(raw: string): string {
  return raw.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)/g, (_m, e: string) => {
    const simple = simpleEscapes[e];
    if (simple !== undefined) return simple;
    if (/^[xuU]/.test(e)) return String.fromCodePoint(parseInt(e.slice(1), 16));
    if (/^[0-7]{3}$/.test(e)) return String.fromCodePoint(parseInt(e, 8));
    throw new TemplateSyntaxError('invalid syntax in quoted string');
  });
}

/**
 * Parses a template into its node list. Throws TemplateSyntaxError. As Go's parser does,
 * it rejects variables used outside the scope that declares them, and `break` /
 * `continue` outside `range`.
 */
export function parseTemplate(source: string): Node[] {
  const pieces = split(source);
  let index = 0;
  // Variables in scope: a control's declarations last until its `end` (else included).
  const scope: string[] = ['$'];
  let rangeDepth = 0;

  type Stop = { word: 'end' } | { word: 'else'; rest: Token[] };

  function parseList(): { nodes: Node[]; stop: Stop | undefined } {
    const nodes: Node[] = [];
    while (index < pieces.length) {
      const piece = pieces[index++];
      if (piece === undefined) break;
      if (piece.k === 'text') {
        nodes.push({ k: 'text', text: piece.text });
        continue;
      }
      const first = piece.tokens[0];
      if (first === undefined) throw new TemplateSyntaxError('missing value for command');
      if (first.t === 'ident' && keywords.has(first.name)) {
        const rest = piece.tokens.slice(1);
        switch (first.name) {
          case 'end':
            if (rest.length > 0) throw new TemplateSyntaxError('unexpected token in end');
            return { nodes, stop: { word: 'end' } };
          case 'else':
            return { nodes, stop: { word: 'else', rest } };
          case 'if':
          case 'with':
          case 'range':
            nodes.push(parseControl(first.name, rest));
            continue;
          case 'break':
          case 'continue':
            if (rangeDepth === 0) throw new TemplateSyntaxError(`{{${first.name}}} outside {{range}}`);
            if (rest.length > 0) throw new TemplateSyntaxError(`unexpected token in ${first.name}`);
            nodes.push(first.name === 'break' ? { k: 'break' } : { k: 'continue' });
            continue;
          default:
            throw new TemplateSyntaxError(`"${first.name}" is not supported`);
        }
      }
      const pipe = parsePipeline(piece.tokens, scope);
      if (pipe.cmds.length === 0) throw new TemplateSyntaxError('missing value for command');
      nodes.push({ k: 'action', pipe });
    }
    return { nodes, stop: undefined };
  }

  function parseControl(word: 'if' | 'with' | 'range', tokens: Token[]): Node {
    const mark = scope.length;
    const node = parseControlBody(word, tokens);
    scope.length = mark;
    return node;
  }

  function parseControlBody(word: 'if' | 'with' | 'range', tokens: Token[]): Node {
    const pipe = parsePipeline(tokens, scope, word === 'range');
    if (pipe.cmds.length === 0) throw new TemplateSyntaxError(`missing value for ${word}`);
    if (word === 'range') rangeDepth++;
    const body = parseList();
    if (word === 'range') rangeDepth--;
    if (body.stop === undefined) throw new TemplateSyntaxError(`unexpected EOF: ${word} without end`);
    if (body.stop.word === 'end') return { k: word, pipe, list: body.nodes, elseList: undefined };
    const rest = body.stop.rest;
    const chained = rest[0];
    if (
      chained !== undefined &&
      chained.t === 'ident' &&
      (chained.name === 'if' || chained.name === 'with')
    ) {
      // `else if` / `else with`: a nested control that shares this one's `end`.
      if (word === 'range' || chained.name !== word)
        throw new TemplateSyntaxError(`else ${chained.name} is not allowed in ${word}`);
      const nested = parseControl(chained.name, rest.slice(1));
      return { k: word, pipe, list: body.nodes, elseList: [nested] };
    }
    if (rest.length > 0) throw new TemplateSyntaxError('unexpected token in else');
    const elseBody = parseList();
    if (elseBody.stop?.word !== 'end') throw new TemplateSyntaxError(`expected end after else in ${word}`);
    return { k: word, pipe, list: body.nodes, elseList: elseBody.nodes };
  }

  const { nodes, stop } = parseList();
  if (stop !== undefined) throw new TemplateSyntaxError(`unexpected {{${stop.word}}}`);
  return nodes;
}

function parsePipeline(tokens: Token[], scope: string[], allowTwoVars = false): Pipeline {
  let pos = 0;
  const decl: string[] = [];
  let assign = false;
  // Declarations: `$x :=`, `$x =`, `$i, $v :=` (range only).
  const t0 = tokens[0];
  const t1 = tokens[1];
  if (t0?.t === 'var' && (t1?.t === ':=' || t1?.t === '=')) {
    decl.push(t0.name);
    assign = t1.t === '=';
    pos = 2;
  } else if (allowTwoVars && t0?.t === 'var' && t1?.t === ',') {
    const t2 = tokens[2];
    const t3 = tokens[3];
    if (t2?.t !== 'var' || (t3?.t !== ':=' && t3?.t !== '='))
      throw new TemplateSyntaxError('too many declarations');
    decl.push(t0.name, t2.name);
    assign = t3.t === '=';
    pos = 4;
  }
  // Go adds declared (and assigned) names to the scope before parsing the commands.
  scope.push(...decl);

  function parseCommands(closing: boolean): Command[] {
    const cmds: Command[] = [];
    let args: Operand[] = [];
    for (;;) {
      const tok = tokens[pos];
      if (tok === undefined || (closing && tok.t === ')')) {
        // Go accepts a trailing `|` before the end of the pipeline.
        if (args.length > 0) cmds.push({ args });
        if (tok !== undefined) pos++;
        else if (closing) throw new TemplateSyntaxError('unclosed left paren');
        checkStages(cmds);
        return cmds;
      }
      if (tok.t === '|') {
        if (args.length === 0) throw new TemplateSyntaxError('missing command before |');
        cmds.push({ args });
        args = [];
        pos++;
        continue;
      }
      if (args.length > 0 && !tok.space && tok.t !== '(')
        throw new TemplateSyntaxError('missing space between arguments');
      args.push(parseOperand());
    }
  }

  function fieldChain(): string[] {
    const names: string[] = [];
    for (;;) {
      const tok = tokens[pos];
      if (tok?.t === 'field' && !tok.space) {
        names.push(tok.name);
        pos++;
      } else return names;
    }
  }

  function parseOperand(): Operand {
    const tok = tokens[pos++];
    if (tok === undefined) throw new TemplateSyntaxError('missing operand');
    switch (tok.t) {
      case 'dot':
        return { k: 'dot' };
      case 'field':
        return { k: 'field', names: [tok.name, ...fieldChain()] };
      case 'var':
        if (!scope.includes(tok.name)) throw new TemplateSyntaxError(`undefined variable "${tok.name}"`);
        return { k: 'variable', name: tok.name, names: fieldChain() };
      case 'string':
        return { k: 'string', value: tok.value };
      case 'number':
        return { k: 'number', value: tok.value, float: tok.float };
      case 'ident':
        if (tok.name === 'true' || tok.name === 'false') return { k: 'bool', value: tok.name === 'true' };
        if (tok.name === 'nil') return { k: 'nil' };
        if (keywords.has(tok.name))
          throw new TemplateSyntaxError(`unexpected keyword "${tok.name}" in operand`);
        return { k: 'ident', name: tok.name };
      case '(': {
        const cmds = parseCommands(true);
        if (cmds.length === 0) throw new TemplateSyntaxError('missing value in parenthesized pipeline');
        return { k: 'chain', pipe: { decl: [], assign: false, cmds }, names: fieldChain() };
      }
      case ')':
      case '|':
      case ':=':
      case '=':
      case ',':
        throw new TemplateSyntaxError(`unexpected "${tok.t}" in operand`);
    }
  }

  const cmds = parseCommands(false);
  return { decl, assign, cmds };
}

/** Only a pipeline's first command may be a literal or dot; later stages must be callable. */
function checkStages(cmds: readonly Command[]): void {
  cmds.slice(1).forEach((cmd, i) => {
    const kind = cmd.args[0]?.k;
    if (kind === 'bool' || kind === 'dot' || kind === 'nil' || kind === 'number' || kind === 'string')
      throw new TemplateSyntaxError(`non executable command in pipeline stage ${i + 2}`);
  });
}

/** Every function name a template calls, for import-time support checks. */
export function functionNames(nodes: Node[]): Set<string> {
  const names = new Set<string>();
  const visitPipe = (pipe: Pipeline) => {
    for (const cmd of pipe.cmds) for (const arg of cmd.args) visitOperand(arg);
  };
  const visitOperand = (op: Operand) => {
    if (op.k === 'ident') names.add(op.name);
    if (op.k === 'chain') visitPipe(op.pipe);
  };
  const visit = (list: Node[]) => {
    for (const node of list) {
      if (node.k === 'text' || node.k === 'break' || node.k === 'continue') continue;
      visitPipe(node.pipe);
      if (node.k !== 'action') {
        visit(node.list);
        if (node.elseList) visit(node.elseList);
      }
    }
  };
  visit(nodes);
  return names;
}
