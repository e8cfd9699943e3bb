/**
 * Prepended to every ESM function bundle (CDK, the Azure and Google builds, the benchmark's
 * builds): bundled CommonJS dependencies call require() for Node built-ins, which ES modules
 * do not have.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __spCreateRequire } from 'node:module'; const require = __spCreateRequire(import.meta.url);";
