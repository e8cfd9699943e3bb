import { runTs } from './load-ts.mjs';

export default () => runTs('./global-setup.ts');
