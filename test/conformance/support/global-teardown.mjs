import { runTs } from './load-ts.mjs';

export default () => runTs('./global-teardown.ts');
