import { GoCallError } from './args.js';
import { TemplateExecError, specialForms, templateFunctions } from './functions.js';
import { parseTemplate, type Command, type Node, type Operand, type Pipeline } from './parse.js';
import { GoFloat, GoInt64, hasKey, isMap, printValue, truthy, typeName, type GoValue } from './values.js';

export { TemplateExecError } from './functions.js';

/** Unwinds to the innermost `range` for `{{break}}` / `{{continue}}`. */
class LoopControl extends Error {
  constructor(readonly kind: 'break' | 'continue') {
    super(kind);
  }
}

interface Variable {
  name: string;
  value: GoValue;
}

/** Bounds that keep a hostile template from looping or allocating without end. */
const MAX_OUTPUT = 4 * 1024 * 1024;
const MAX_STEPS = 1_000_000;

/**
 * Executes a parsed template against `data` with Go text/template semantics and
 * `missingkey=error`: a field that is not in the map is an error naming the key.
 */
export function executeTemplate(nodes: Node[], data: GoValue): string {
  let out = '';
  let steps = 0;
  const vars: Variable[] = [{ name: '$', value: data }];

  const step = () => {
    if (++steps > MAX_STEPS) throw new TemplateExecError('template exceeded its execution budget');
  };

  const lookupVar = (name: string): Variable => {
    for (let i = vars.length - 1; i >= 0; i--) {
      const v = vars[i];
      if (v !== undefined && v.name === name) return v;
    }
    throw new TemplateExecError(`undefined variable: ${name}`);
  };

  const field = (receiver: GoValue, name: string): GoValue => {
    if (receiver === null || receiver === undefined)
      throw new TemplateExecError(`nil pointer evaluating interface {}.${name}`);
    if (isMap(receiver)) {
      if (!hasKey(receiver, name)) throw new TemplateExecError(`map has no entry for key "${name}"`);
      return receiver[name];
    }
    throw new TemplateExecError(`can't evaluate field ${name} in type ${typeName(receiver)}`);
  };

  const fields = (receiver: GoValue, names: readonly string[]): GoValue => names.reduce(field, receiver);

  const evalOperand = (op: Operand, dot: GoValue): GoValue => {
    step();
    switch (op.k) {
      case 'string':
        return op.value;
      case 'number':
        return op.float ? new GoFloat(op.value) : op.value;
      case 'bool':
        return op.value;
      case 'nil':
        return null;
      case 'dot':
        return dot;
      case 'field':
        return fields(dot, op.names);
      case 'variable':
        return fields(lookupVar(op.name).value, op.names);
      case 'chain':
        return fields(evalPipeline(op.pipe, dot), op.names);
      case 'ident':
        return call(op.name, [], dot, undefined);
    }
  };

  const call = (
    name: string,
    argOps: readonly Operand[],
    dot: GoValue,
    piped: { value: GoValue } | undefined,
  ): GoValue => {
    if (specialForms.has(name)) {
      // and / or evaluate lazily and return the deciding operand, as Go 1.18+ does.
      const thunks: (() => GoValue)[] = argOps.map((op) => () => evalOperand(op, dot));
      if (piped !== undefined) thunks.push(() => piped.value);
      if (thunks.length === 0)
        throw new TemplateExecError(`wrong number of args for ${name}: want at least 1 got 0`);
      let value: GoValue = null;
      for (const thunk of thunks) {
        value = thunk();
        if (name === 'and' ? !truthy(value) : truthy(value)) return value;
      }
      return value;
    }
    const fn = templateFunctions.get(name);
    if (fn === undefined) throw new TemplateExecError(`function "${name}" not defined`);
    // A float literal written as an argument stays an untyped constant, as in Go:
    // an int parameter accepts `2.0` but not `2.5`.
    const args = argOps.map((op) =>
      op.k === 'number' && op.float ? new GoFloat(op.value, true) : evalOperand(op, dot),
    );
    if (piped !== undefined) args.push(piped.value);
    try {
      return fn(args);
    } catch (error) {
      if (error instanceof TemplateExecError) throw error;
      if (error instanceof GoCallError)
        throw new TemplateExecError(`error calling ${name}: ${error.message}`);
      throw new TemplateExecError(`error calling ${name}`);
    }
  };

  const evalCommand = (cmd: Command, dot: GoValue, piped: { value: GoValue } | undefined): GoValue => {
    const [first, ...rest] = cmd.args;
    if (first === undefined) throw new TemplateExecError('empty command');
    if (first.k === 'ident') return call(first.name, rest, dot, piped);
    if (first.k === 'nil') throw new TemplateExecError('nil is not a command');
    if (rest.length > 0 || piped !== undefined) {
      throw new TemplateExecError(`can't give argument to non-function ${describe(first)}`);
    }
    return evalOperand(first, dot);
  };

  const evalPipeline = (pipe: Pipeline, dot: GoValue): GoValue => {
    let piped: { value: GoValue } | undefined;
    for (const cmd of pipe.cmds) piped = { value: evalCommand(cmd, dot, piped) };
    const value = piped?.value ?? null;
    for (const name of pipe.decl) {
      if (pipe.assign) lookupVar(name).value = value;
      else vars.push({ name, value });
    }
    return value;
  };

  const write = (text: string) => {
    out += text;
    if (out.length > MAX_OUTPUT) throw new TemplateExecError('template output is too large');
  };

  const walk = (list: readonly Node[], dot: GoValue): void => {
    for (const node of list) {
      step();
      switch (node.k) {
        case 'text':
          write(node.text);
          break;
        case 'break':
        case 'continue':
          throw new LoopControl(node.k);
        case 'action': {
          const value = evalPipeline(node.pipe, dot);
          if (node.pipe.decl.length === 0) write(printValue(value));
          break;
        }
        case 'if':
        case 'with': {
          const mark = vars.length;
          const value = evalPipeline(node.pipe, dot);
          if (truthy(value)) walk(node.list, node.k === 'with' ? value : dot);
          else if (node.elseList) walk(node.elseList, dot);
          vars.length = mark;
          break;
        }
        case 'range': {
          const mark = vars.length;
          const decl = node.pipe.decl;
          const ranged = evalPipeline({ ...node.pipe, decl: [] }, dot);
          const value = ranged instanceof GoInt64 ? ranged.value : ranged;
          let items: Iterable<[GoValue, GoValue]>;
          let count: number;
          if (Array.isArray(value)) {
            items = value.map((v, i): [GoValue, GoValue] => [i, v]);
            count = value.length;
          } else if (typeof value === 'number') {
            // Lazily: `range 100000000` must hit the step budget, not allocate.
            items = (function* ints(): Generator<[GoValue, GoValue]> {
              for (let i = 0; i < value; i++) yield [i, i];
            })();
            count = Math.max(0, value);
          } else if (value !== null && value !== undefined && isMap(value)) {
            const keys = Object.keys(value).sort();
            items = keys.map((k): [GoValue, GoValue] => [k, value[k]]);
            count = keys.length;
          } else if (value === null || value === undefined) {
            items = [];
            count = 0;
          } else {
            throw new TemplateExecError(`range can't iterate over ${typeName(value)}`);
          }
          if (count === 0) {
            if (node.elseList) walk(node.elseList, dot);
          } else {
            for (const [key, element] of items) {
              step();
              const inner = vars.length;
              if (decl.length === 1 && decl[0] !== undefined) vars.push({ name: decl[0], value: element });
              if (decl.length === 2 && decl[0] !== undefined && decl[1] !== undefined)
                vars.push({ name: decl[0], value: key }, { name: decl[1], value: element });
              try {
                walk(node.list, element);
              } catch (signal) {
                if (!(signal instanceof LoopControl)) throw signal;
                if (signal.kind === 'break') break;
              } finally {
                vars.length = inner;
              }
            }
          }
          vars.length = mark;
          break;
        }
      }
    }
  };

  walk(nodes, data);
  return out;
}

function describe(op: Operand): string {
  if (op.k === 'field') return `.${op.names.join('.')}`;
  if (op.k === 'variable') return op.name + op.names.map((n) => `.${n}`).join('');
  if (op.k === 'dot') return '.';
  return op.k;
}

/** Parses and executes in one step. */
export function renderTemplate(source: string, data: GoValue): string {
  return executeTemplate(parseTemplate(source), data);
}
