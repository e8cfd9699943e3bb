/**
 * How the Google function bundle is built: the esbuild options shared by
 * functions/gcp/build.ts (what is deployed) and test/bench/cold-start.ts (what is measured),
 * so the two cannot drift.
 *
 * Bundled: our code, the Secret Manager client with google-gax's REST transport, and
 * google-auth-library. External (Cloud Build installs them from the generated package.json):
 * the Functions Framework, which the platform starts and which must be the module instance
 * our `cloudEvent(...)` registrations go to, and @google-cloud/pubsub, which
 * functions/gcp/work-queue.ts loads only on the first fan-out.
 *
 * Most of a cold start used to be Node resolving and compiling the 337 CommonJS files of the
 * installed client libraries, gRPC among them, which the REST transport never uses. The
 * plugins below keep what the client runs and leave out what it cannot reach;
 * test/gcp/package.test.ts drives the built bundle end to end.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions, Plugin } from 'esbuild';
import { ESM_REQUIRE_BANNER } from '../../shared/runtime/esm-banner.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The platform starts this package's installed copy; our registrations must reach it. */
const GCP_FRAMEWORK = '@google-cloud/functions-framework';

/** Installed on the platform from the generated package.json instead of bundled. */
export const GCP_EXTERNAL: readonly string[] = [GCP_FRAMEWORK, '@google-cloud/pubsub'];

const SECRET_MANAGER_CLIENT = /[\\/]node_modules[\\/]@google-cloud[\\/]secret-manager[\\/]/;
const IN_GAX = /[\\/]node_modules[\\/]google-gax[\\/]build[\\/]src[\\/]/;

/**
 * The Secret Manager client module reads two things from `google-gax` (its `loggingUtils`, and
 * `fallback` when constructed with `fallback: true`, as shared/sources/gcp always does), yet
 * `require('google-gax')` loads the whole library: gRPC, proto-loader and the gRPC client.
 * In the bundle that import becomes a module with just those two, taken from the gax copy
 * the client itself resolves. Any other bundled importer of google-gax is a build error,
 * so the full library cannot slip back in unnoticed.
 */
const restOnlyGax: Plugin = {
  name: 'rest-only-gax',
  setup(build) {
    build.onResolve({ filter: /^google-gax$/ }, async (args) => {
      if (!SECRET_MANAGER_CLIENT.test(args.importer)) {
        return {
          errors: [
            {
              text: `${args.importer} imports google-gax: only the Secret Manager client is bundled with it (REST transport only); keep that package external or extend functions/gcp/bundle.ts`,
            },
          ],
        };
      }
      const fallback = await build.resolve('google-gax/fallback', {
        kind: 'require-call',
        resolveDir: args.resolveDir,
      });
      if (fallback.errors.length > 0) return { errors: fallback.errors };
      return { path: fallback.path, namespace: 'rest-only-gax' };
    });
    build.onLoad({ filter: /.*/, namespace: 'rest-only-gax' }, async (args) => {
      const resolveDir = dirname(args.path);
      const logging = await build.resolve('google-logging-utils', { kind: 'require-call', resolveDir });
      if (logging.errors.length > 0) return { errors: logging.errors };
      return {
        loader: 'js',
        resolveDir,
        contents: `
class GrpcClient {
  constructor() {
    throw new Error('this bundle carries google-gax REST transport only: create the Secret Manager client with fallback: true');
  }
}
module.exports = { fallback: require(${JSON.stringify(args.path)}), loggingUtils: require(${JSON.stringify(logging.path)}), GrpcClient };
`,
      };
    });
  },
};

/**
 * gax's REST module loads the generated static protobuf.js classes of IAM, Locations and
 * long-running Operations (about 460 KB) only to re-export them, and long-running operations
 * use them to cancel or poll. Secret Manager v1 has no long-running methods and the IAM and
 * Locations mixins go through their JSON descriptors, so the bundle gets a stand-in that
 * throws on first use instead of failing silently.
 */
const noStaticGaxProtos: Plugin = {
  name: 'no-static-gax-protos',
  setup(build) {
    build.onResolve({ filter: /^(\.\.\/)+protos\/(iam_service|locations|operations)$/ }, (args) =>
      IN_GAX.test(args.importer) ? { path: args.path, namespace: 'no-static-gax-protos' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'no-static-gax-protos' }, (args) => ({
      loader: 'js',
      contents: `
module.exports = new Proxy({}, {
  get(_, key) {
    if (key === '__esModule') return true;
    if (typeof key === 'symbol') return undefined;
    throw new Error(${JSON.stringify(`google-gax static protos ${args.path} are not in this bundle (functions/gcp/bundle.ts)`)} + ': read ' + key);
  },
});
`,
    }));
  },
};

/**
 * google-gax pins google-auth-library to an exact older 10.x; our own code (GKE tokens) uses
 * the root's 10.x. Every bundled import resolves to the root copy, so the function carries
 * and loads one auth library instead of two.
 */
const oneGoogleAuthLibrary: Plugin = {
  name: 'one-google-auth-library',
  setup(build) {
    build.onResolve({ filter: /^google-auth-library$/ }, async (args) => {
      if (args.resolveDir === root) return undefined;
      const resolved = await build.resolve(args.path, { kind: args.kind, resolveDir: root });
      if (resolved.errors.length > 0) return { errors: resolved.errors };
      return { path: resolved.path, sideEffects: resolved.sideEffects };
    });
  },
};

/**
 * The esbuild options of the function bundle; callers add `entryPoints` and `outfile`
 * (and `sourcemap`, `logLevel` as they like).
 */
export const gcpBundleOptions = {
  bundle: true,
  minify: true,
  legalComments: 'none',
  platform: 'node',
  target: 'node22',
  format: 'esm',
  mainFields: ['module', 'main'],
  external: [
    ...GCP_EXTERNAL,
    // fetch-blob (under gaxios' node-fetch) loads this ponyfill only where
    // globalThis.ReadableStream is missing, i.e. before Node 16.5; the runtime is Node 22.
    'web-streams-polyfill',
  ],
  plugins: [restOnlyGax, noStaticGaxProtos, oneGoogleAuthLibrary],
  banner: { js: ESM_REQUIRE_BANNER },
} satisfies BuildOptions;
