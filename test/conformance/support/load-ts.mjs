// Jest loads globalSetup and globalTeardown without its transform's module mapper, so their
// `.js` imports of TypeScript files would not resolve. These entry points load the TypeScript
// through tsx, as the npm scripts run it.
import { tsImport } from 'tsx/esm/api';

/** Runs the default export of a TypeScript module beside this file. */
export async function runTs(file) {
  const module = await tsImport(new URL(file, import.meta.url).href, import.meta.url);
  return module.default();
}
