export {
  convertEso,
  parseManifests,
  toRegistryName,
  type ConversionProblem,
  type ConversionResult,
  type ConvertOptions,
  type Manifest,
} from './convert.js';
export { readManifests } from './read.js';
