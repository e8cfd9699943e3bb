import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { executeTemplate, TemplateExecError } from '../../shared/template/go/exec.js';
import { isSupportedFunction } from '../../shared/template/go/functions.js';
import { functionNames, parseTemplate, TemplateSyntaxError } from '../../shared/template/go/parse.js';
import { stringMap } from '../../shared/template/go/values.js';

/**
 * The template conformance corpus (test/conformance/templates/corpus.json) and its golden
 * results, written by ESO's own template engine (test/conformance/templates/oracle), and
 * our interpreter's results for the same cases, in the same shape.
 */

export const corpusPath = fileURLToPath(new URL('../conformance/templates/corpus.json', import.meta.url));
export const goldenPath = fileURLToPath(new URL('../conformance/templates/golden.json', import.meta.url));

/**
 * What a template gives: its output, or an error class.
 * - `parse`: does not parse (syntax, or a function the engine does not have);
 * - `missingkey`: a field names a key its map does not have (`missingkey=error`);
 * - `call`: a function was called and returned an error;
 * - `exec`: any other execution error (argument types or counts, nil, range).
 */
export type ErrorClass = 'parse' | 'missingkey' | 'call' | 'exec';

/** One case's result: output text, output bytes (not valid UTF-8) or an error class. */
export interface CaseResult {
  name: string;
  output?: string;
  outputBase64?: string;
  error?: ErrorClass;
  message?: string;
}

/** A case whose difference from ESO is deliberate: what we produce instead, and why. */
export interface Deliberate {
  function: string;
  why: string;
  ours: Omit<CaseResult, 'name' | 'message'>;
}

export interface CorpusCase {
  name: string;
  template: string;
  /** A dataset name, or the data map itself; absent means no data. */
  data?: string | Record<string, string>;
  deliberate?: Deliberate;
}

export interface Corpus {
  datasets: Record<string, Record<string, string>>;
  cases: CorpusCase[];
}

export interface Golden {
  engine: string;
  results: CaseResult[];
}

export function loadCorpus(): Corpus {
  return JSON.parse(readFileSync(corpusPath, 'utf8')) as Corpus;
}

export function loadGolden(): Golden {
  return JSON.parse(readFileSync(goldenPath, 'utf8')) as Golden;
}

function caseData(corpus: Corpus, testCase: CorpusCase): Record<string, string> {
  const data = testCase.data;
  if (data === undefined) return {};
  if (typeof data !== 'string') return data;
  const set = corpus.datasets[data];
  if (set === undefined) throw new Error(`case "${testCase.name}": unknown dataset "${data}"`);
  return set;
}

/** The class of one of our errors, by the same rules the oracle applies to Go's. */
export function classify(error: unknown): ErrorClass {
  if (error instanceof TemplateSyntaxError) return 'parse';
  if (!(error instanceof TemplateExecError)) throw error;
  if (error.message.includes('map has no entry for key')) return 'missingkey';
  if (error.message.includes('error calling ')) return 'call';
  return 'exec';
}

/**
 * Renders one case as the product does (render.ts): parse, reject functions we do not
 * have (Go rejects unknown functions at parse time too), execute with the data as
 * `map[string]string`.
 */
export function renderOurs(corpus: Corpus, testCase: CorpusCase): CaseResult {
  const name = testCase.name;
  try {
    const nodes = parseTemplate(testCase.template);
    for (const fn of functionNames(nodes)) {
      if (!isSupportedFunction(fn))
        return { name, error: 'parse', message: `function "${fn}" is not supported` };
    }
    return { name, output: executeTemplate(nodes, stringMap(caseData(corpus, testCase))) };
  } catch (error) {
    return { name, error: classify(error), message: (error as Error).message };
  }
}

/** The comparable part of a result: output (or bytes) or error class, without messages. */
export function outcome(result: Omit<CaseResult, 'name' | 'message'>): string {
  if (result.error !== undefined) return `error: ${result.error}`;
  if (result.outputBase64 !== undefined) return `bytes: ${result.outputBase64}`;
  return `output: ${JSON.stringify(result.output)}`;
}

/** Counts for docs/templates.md: cases, identical, deliberate differences, other differences. */
export function summarize(corpus: Corpus, golden: Golden) {
  let identical = 0;
  let deliberate = 0;
  const differing: string[] = [];
  corpus.cases.forEach((testCase, i) => {
    const ours = outcome(renderOurs(corpus, testCase));
    const theirs = golden.results[i];
    if (theirs !== undefined && ours === outcome(theirs)) identical++;
    else if (testCase.deliberate?.ours !== undefined && ours === outcome(testCase.deliberate.ours))
      deliberate++;
    else differing.push(testCase.name);
  });
  return { cases: corpus.cases.length, identical, deliberate, differing };
}
