import { ChangeKind } from '../core/change.js';
import { ConfigError, RenderError, SecretNotFoundError, isPropagatorError } from '../core/errors.js';
import { generatePassword } from '../core/password.js';
import type { Logger, SecretSource } from '../core/ports.js';
import type { BindingSpec } from '../registry/schema.js';
import { requiredReads } from '../template/index.js';
import { buildReport, reportError, type ReportHead } from './report.js';
import type { ChangeReport } from './types.js';

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Whether a binding rotates: `rotation` or `schedule.rotate` is set. */
export function wantsRotation(binding: BindingSpec): boolean {
  return binding.rotation !== undefined || binding.schedule?.rotate !== undefined;
}

/**
 * Asks the store for a new version of a binding's secret: the store's own rotation, or a
 * generated password (`rotation.generator`), written as a new version. The event path then
 * propagates it. One report per binding, with the written version or the error; nothing is
 * written to any cluster here.
 */
export async function rotateBinding(
  deps: { sources: ReadonlyMap<string, SecretSource>; logger: Logger },
  binding: BindingSpec,
  changeId: string,
): Promise<ChangeReport> {
  const started = performance.now();
  const key = binding.remoteRef?.key ?? requiredReads(binding)[0]?.key ?? '';
  const head: ReportHead = {
    changeId,
    kind: ChangeKind.RotateRequested,
    binding: binding.name,
    source: binding.source,
    secretRef: key,
  };
  const log = deps.logger.child({ changeId, binding: binding.name, source: binding.source, secretRef: key });
  let outcome: Pick<ReportHead, 'version' | 'error'>;
  try {
    const version = await rotate(deps.sources.get(binding.source), binding, key);
    if (version === undefined) log.info('rotation requested from the store', { outcome: 'rotate-requested' });
    else log.info('rotation wrote a new version', { version, outcome: 'rotated' });
    outcome = version === undefined ? {} : { version };
  } catch (error) {
    const failure = reportError(error, isPropagatorError(error) ? error.message : 'unexpected error');
    log.warn(`rotation failed: ${failure.message}`, { errorCode: failure.code, outcome: 'failed' });
    outcome = { error: failure };
  }
  return buildReport({ ...head, ...outcome }, [], Math.round(performance.now() - started));
}

/** Rotates; returns the written version (generator), or undefined (the store rotates itself). */
async function rotate(
  source: SecretSource | undefined,
  binding: BindingSpec,
  key: string,
): Promise<string | undefined> {
  if (source === undefined)
    throw new ConfigError(`binding "${binding.name}" uses unknown source "${binding.source}"`);
  const generator = binding.rotation?.generator;
  if (generator === undefined) {
    if (source.rotate === undefined) {
      throw new ConfigError(
        `source "${source.name}" (${source.provider}) has no native rotation: add rotation.generator to binding "${binding.name}"`,
      );
    }
    await source.rotate(key);
    return undefined;
  }
  if (source.writeVersion === undefined) {
    throw new ConfigError(
      `source "${source.name}" (${source.provider}) cannot write versions, so binding "${binding.name}" cannot use a generator`,
    );
  }
  const password = generatePassword(generator.length, generator.symbols);
  const bytes =
    generator.property === undefined
      ? encoder.encode(password)
      : encoder.encode(
          JSON.stringify({
            ...(await currentObject(source, key, generator.property)),
            [generator.property]: password,
          }),
        );
  return (await source.writeVersion(key, bytes)).versionId;
}

/** The secret's current JSON object (empty when it does not exist yet), to replace one property of. */
async function currentObject(
  source: SecretSource,
  key: string,
  property: string,
): Promise<Record<string, unknown>> {
  try {
    const parsed: unknown = JSON.parse(decoder.decode((await source.read(key)).bytes));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new SyntaxError('not an object');
    return parsed as Record<string, unknown>;
  } catch (error) {
    if (error instanceof SecretNotFoundError) return {};
    if (isPropagatorError(error)) throw error;
    throw new RenderError(
      `secret "${key}" is not a JSON object, so property "${property}" cannot be rotated`,
    );
  }
}
