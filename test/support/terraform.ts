import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '@cdktf/hcl2json';

/** A Terraform module as hcl2json renders it, merged across its files. */
export type Block = Record<string, unknown>;
export interface Hcl {
  resource: Record<string, Record<string, Block[]>>;
  locals: Block[];
  variable: Record<string, Block[]>;
  output: Record<string, Block[]>;
  terraform: Block[];
}

/** Parses `files` of the module in `dir` into one view (no terraform binary needed). */
export async function loadTerraformModule(dir: string, files: readonly string[]): Promise<Hcl> {
  const merged: Hcl = { resource: {}, locals: [], variable: {}, output: {}, terraform: [] };
  for (const file of files) {
    const json = (await parse(file, readFileSync(join(dir, file), 'utf8'))) as Partial<Hcl>;
    for (const [type, byName] of Object.entries(json.resource ?? {}))
      merged.resource[type] = { ...merged.resource[type], ...byName };
    merged.locals.push(...(json.locals ?? []));
    Object.assign(merged.variable, json.variable ?? {});
    Object.assign(merged.output, json.output ?? {});
    merged.terraform.push(...(json.terraform ?? []));
  }
  return merged;
}

export function resource(hcl: Hcl, type: string, name: string): Block {
  const block = hcl.resource[type]?.[name]?.[0];
  if (block === undefined) throw new Error(`no resource ${type}.${name}`);
  return block;
}

export function local(hcl: Hcl, name: string): unknown {
  return hcl.locals.find((l) => name in l)?.[name];
}

/** A variable's default value. */
export function variableDefault(hcl: Hcl, name: string): unknown {
  const block = hcl.variable[name]?.[0];
  if (block === undefined) throw new Error(`no variable ${name}`);
  return block['default'];
}

/**
 * A string attribute as Terraform renders it when `var.<variable>` is `value`: the variable's
 * references and its `var.<variable> >= N ? A : B` conditionals (which hcl2json gives as
 * `%{if ...}A%{else}B%{endif}`) are evaluated. Anything else left to interpolate is an error,
 * so a test cannot pass on an expression it did not understand.
 */
export function withVariable(text: unknown, variable: string, value: number): string {
  const conditional = new RegExp(
    `%\\{if var\\.${variable} >= (\\d+)\\}([^%]*)%\\{else\\}([^%]*)%\\{endif\\}`,
    'g',
  );
  const rendered = String(text)
    .replace(conditional, (_, min: string, then: string, otherwise: string) =>
      value >= Number(min) ? then : otherwise,
    )
    .replaceAll(`\${var.${variable}}`, String(value));
  if (rendered.includes('${') || rendered.includes('%{'))
    throw new Error(`cannot render ${String(text)} with var.${variable} = ${value}`);
  return rendered;
}
