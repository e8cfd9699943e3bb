import { GoFloat, isMap, isStringMap, typeName, type GoMap, type GoValue } from './values.js';

/**
 * Argument checks shared by the function tables: text/template converts each argument to
 * the Go parameter type of the function and fails with these messages when it cannot.
 */

/** A failure while executing a template. Messages name functions and keys, never values. */
export class TemplateExecError extends Error {}

/**
 * A run-time failure inside a function that Go reports as "error calling <name>: ..."
 * (a returned error or a recovered panic). The message must be free of values.
 */
export class GoCallError extends Error {}

export type TemplateFunction = (args: GoValue[]) => GoValue;

export function arity(name: string, args: GoValue[], min: number, max = min): void {
  if (args.length < min || args.length > max) {
    throw new TemplateExecError(
      `wrong number of args for ${name}: want ${min === max ? min : `${min}-${max}`} got ${args.length}`,
    );
  }
}

export function str(name: string, args: GoValue[], i: number): string {
  const v = args[i];
  if (typeof v !== 'string')
    throw new TemplateExecError(
      `wrong type for value; expected string; got ${typeName(v)} (argument ${i + 1} of ${name})`,
    );
  return v;
}

export function int(name: string, args: GoValue[], i: number): number {
  const v = args[i];
  if (typeof v === 'number') return v;
  // An untyped float constant converts when it is integral (`2.0`), as Go's does.
  if (v instanceof GoFloat && v.literal) {
    if (Number.isInteger(v.value)) return v.value;
    throw new TemplateExecError(`expected integer; found ${v.value} (argument ${i + 1} of ${name})`);
  }
  throw new TemplateExecError(
    `wrong type for value; expected int; got ${typeName(v)} (argument ${i + 1} of ${name})`,
  );
}

export function bool(name: string, args: GoValue[], i: number): boolean {
  const v = args[i];
  if (typeof v === 'boolean') return v;
  throw new TemplateExecError(
    `wrong type for value; expected bool; got ${typeName(v)} (argument ${i + 1} of ${name})`,
  );
}

/** Sprig's map parameters are map[string]interface{}: the data map (map[string]string) is refused. */
export function anyMap(name: string, args: GoValue[], i: number): GoMap {
  const v = args[i];
  if (v === null || v === undefined || !isMap(v) || isStringMap(v))
    throw new TemplateExecError(
      `wrong type for value; expected map[string]interface {}; got ${typeName(v)} (argument ${i + 1} of ${name})`,
    );
  return v;
}
