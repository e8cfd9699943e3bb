import { ChangeKind } from '../core/change.js';
import type { SecretSource, SecretValue } from '../core/ports.js';
import {
  certificatesExpiringWithin,
  readKey,
  renderSecret,
  validateSecret,
  type ReadRequest,
  type RenderedSecret,
} from '../template/index.js';
import { MetricName } from '../telemetry/metrics.js';
import type { BindingInfo } from './bindings.js';
import type { EngineContext, Invocation } from './context.js';
import type { Desired } from './decide.js';
import { contentHash } from './hash.js';

/**
 * What a binding wants every target to hold, worked out once per invocation: each store read
 * once per (source, key, version) however many bindings need it, then rendered, validated
 * and hashed once. A failure rejects, and nothing is written for that binding.
 */
export function desiredOf(ctx: EngineContext, info: BindingInfo, inv: Invocation): Promise<Desired> {
  let pending = inv.desired.get(info.spec.name);
  if (pending === undefined) {
    pending = computeDesired(ctx, info, inv);
    inv.desired.set(info.spec.name, pending);
  }
  return pending;
}

function readOnce(
  ctx: EngineContext,
  source: SecretSource,
  request: ReadRequest,
  inv: Invocation,
): Promise<SecretValue> {
  const key = `${source.name}\u0000${request.key}\u0000${request.version ?? ''}`;
  let pending = inv.reads.get(key);
  if (pending === undefined) {
    ctx.metrics?.count(MetricName.StoreReads, 1, { source: source.name });
    pending = source.read(
      request.key,
      request.version === undefined ? undefined : { version: request.version },
    );
    inv.reads.set(key, pending);
  }
  return pending;
}

async function computeDesired(ctx: EngineContext, info: BindingInfo, inv: Invocation): Promise<Desired> {
  const fetched = new Map<string, SecretValue>();
  await Promise.all(
    info.reads.map(async (request) => {
      fetched.set(readKey(request), await readOnce(ctx, info.source, request, inv));
    }),
  );
  const rendered = renderSecret(info.spec, fetched);
  const now = ctx.clock.now();
  validateSecret(info.spec, rendered, now);
  // The scheduled certificate check: every reconcile looks at what it renders anyway.
  if (inv.kind === ChangeKind.Reconcile) warnOfExpiringCertificates(ctx, info, inv, rendered, now);
  const data: Record<string, string> = {};
  for (const [key, bytes] of Object.entries(rendered.data)) data[key] = Buffer.from(bytes).toString('base64');
  const values = info.reads.map((r) => ({ request: r, value: fetched.get(readKey(r)) }));
  const version =
    values.length === 1
      ? (values[0]?.value?.versionId ?? '')
      : values.map(({ request, value }) => `${readKey(request)}=${value?.versionId ?? ''}`).join(',');
  // The newest creation time among the inputs: a later write of any input is newer content.
  let created: number | undefined;
  for (const { value } of values) {
    const t = value?.createdAt?.getTime();
    if (t !== undefined && (created === undefined || t > created)) created = t;
  }
  return {
    binding: info.spec.name,
    source: info.source.name,
    type: rendered.type,
    data,
    labels: rendered.labels,
    annotations: rendered.annotations,
    hash: contentHash(rendered),
    version,
    ...(created === undefined ? {} : { versionCreated: new Date(created).toISOString() }),
    restarts: info.spec.restart !== undefined && info.spec.restart !== false,
  };
}

function warnOfExpiringCertificates(
  ctx: EngineContext,
  info: BindingInfo,
  inv: Invocation,
  rendered: RenderedSecret,
  now: Date,
): void {
  const window = ctx.settings.certificateExpiryWindow;
  for (const cert of certificatesExpiringWithin(rendered, window, now)) {
    ctx.metrics?.count(MetricName.CertificatesExpiring, 1, { binding: info.spec.name });
    ctx.logger.warn(cert.expired ? 'certificate has expired' : 'certificate expires within the window', {
      changeId: inv.changeId,
      binding: info.spec.name,
      source: info.source.name,
      key: cert.key,
      subject: cert.subject,
      notAfter: cert.notAfter.toISOString(),
      window,
    });
  }
}
