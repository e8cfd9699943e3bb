/** Jest globalTeardown of the conformance suite: stops the control plane that globalSetup started. */
import { rmSync } from 'node:fs';
import type { ControlPlane } from './control-plane.js';
import { STATE_ENV } from './servers.js';

export default async function globalTeardown(): Promise<void> {
  const holder = globalThis as { conformanceControlPlane?: ControlPlane };
  await holder.conformanceControlPlane?.stop();
  delete holder.conformanceControlPlane;
  const stateFile = process.env[STATE_ENV];
  if (stateFile !== undefined) rmSync(stateFile, { force: true });
}
