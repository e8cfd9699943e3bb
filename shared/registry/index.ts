export * from './schema.js';
export * from './load.js';
export { crossCheck, namespaceRefusal } from './cross-check.js';
export { matchesLabels, selectClusters } from './select.js';
