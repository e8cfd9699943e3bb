/**
 * The Node flags every deployed function runs with (NODE_OPTIONS on Lambda and Cloud
 * Functions, `languageWorkers__node__arguments` on Azure; infra tests check they agree).
 *
 * `--max-semi-space-size=16`: V8 sizes its young generation from the instance's memory, so a
 * 256-1024 MB function gets semi-spaces of 1-4 MB and a fleet run, whose per-request objects
 * live across 25 ms or more of network, promotes most of them and pays for it in old-generation
 * collections. 16 MB semi-spaces (at most 32 MB more memory) took a 30,000-target reconcile in
 * a 256 MB cgroup from 1.8x to 1.4x the floor's CPU (BENCHMARKS.md).
 */
export const FUNCTION_NODE_OPTIONS = '--enable-source-maps --max-semi-space-size=16';
