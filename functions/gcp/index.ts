/**
 * Google Cloud Functions (2nd gen) entry points, registered with the Functions Framework:
 * - `secretChanged`: Secret Manager notifications (Eventarc Pub/Sub CloudEvent);
 * - `scheduled`: Cloud Scheduler -> Pub/Sub `{ "kind": "reconcile" | "rotate", "bindings"?: [...] }`;
 * - `applyWork`: the fan-out worker on the work topic (env WORK_TOPIC).
 *
 * The runtime (registry, sources, gateways) is built once per cold start from
 * REGISTRY_FILE / REGISTRY, with only the gcp and local sources and the gke, token and
 * kubeconfig authenticators, so the bundle carries no other cloud's SDK.
 */
import { cloudEvent } from '@google-cloud/functions-framework';
import { createGkeAuthenticator } from '../../shared/kube/auth/gke.js';
import { loadRegistryFromEnv } from '../../shared/registry/index.js';
import { createRuntime, type Runtime } from '../../shared/runtime/index.js';
import { gcpSourceFactory } from '../../shared/sources/gcp/index.js';
import { localSourceFactory } from '../../shared/sources/local/index.js';
import { createGcpHandlers } from './handlers.js';
import { createCloudLogger } from './logging.js';
import { createPubsubWorkQueue, lazyWorkTopic } from './work-queue.js';

export { createGcpHandlers, parseScheduledRequest, type GcpRuntime } from './handlers.js';
export { RetryableInvocationError } from '../../shared/runtime/invocation.js';
export { createCloudLogger, traceIdOf, withInvocation } from './logging.js';
export { createPubsubWorkQueue, parseWorkItem } from './work-queue.js';

const logger = createCloudLogger({ base: { service: 'secret-propagator' } });
let runtime: Runtime | undefined;

/** The cold-start runtime; a registry error is not cached, so a fixed config recovers. */
function runtimeFromEnv(): Runtime {
  if (runtime !== undefined) return runtime;
  const workTopic = process.env['WORK_TOPIC'];
  runtime = createRuntime({
    loaded: loadRegistryFromEnv(),
    sources: { gcp: gcpSourceFactory, local: localSourceFactory },
    authenticators: [createGkeAuthenticator()],
    logger,
    ...(workTopic === undefined || workTopic === ''
      ? {}
      : { workQueue: createPubsubWorkQueue(lazyWorkTopic(workTopic)) }),
  });
  return runtime;
}

const handlers = createGcpHandlers({ runtime: runtimeFromEnv, logger });

cloudEvent('secretChanged', handlers.secretChanged);
cloudEvent('scheduled', handlers.scheduled);
cloudEvent('applyWork', handlers.applyWork);
