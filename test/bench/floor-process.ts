/**
 * The floor's child process (see floor.ts): holds the endpoints, runs the floor on request
 * and answers with its own wall time and CPU. Exits when the IPC channel closes.
 */
import { applyFunctionV8Flags } from '../../shared/runtime/node-options.js';
import { profiled } from './profile.js';
import { closeFloor, floorRequests, runFloor, type FloorEndpoint, type FloorSpec } from './floor.js';

type Message =
  | { id: number; op: 'endpoints'; endpoints: FloorEndpoint[] }
  | { id: number; op: 'run'; spec: FloorSpec; concurrency: number; profile?: string; parse?: boolean };

// The V8 settings the functions' runtime applies (the engine's process applies them too).
applyFunctionV8Flags();

let endpoints: FloorEndpoint[] = [];

process.on('message', (message: Message) => {
  const reply = (body: Record<string, unknown>) => process.send?.({ id: message.id, ...body });
  switch (message.op) {
    case 'endpoints':
      endpoints = message.endpoints;
      reply({});
      break;
    case 'run': {
      const requests = floorRequests(message.spec);
      profiled(message.profile, () =>
        runFloor(endpoints, () => requests, message.concurrency, message.parse === true),
      ).then(
        (result) => reply({ result }),
        (error: unknown) => reply({ error: error instanceof Error ? error.message : String(error) }),
      );
      break;
    }
  }
});
process.on('disconnect', () => {
  closeFloor();
  process.exit(0);
});
