import { app } from '@azure/functions';
import { createAzureApp } from './app.js';
import { DEFAULT_WORK_QUEUE } from './work-queue.js';

/**
 * Azure Functions entry point (v4 programming model). Registers:
 * - `secretChanged`: Event Grid trigger for Key Vault secret events (either schema);
 * - `scheduled`: timer, reconcile every binding (app setting RECONCILE_SCHEDULE, NCRONTAB);
 * - `scheduledRotate`: timer, rotate bindings with `schedule.rotate` (app setting ROTATE_SCHEDULE);
 * - `applyWorkItem`: Storage queue trigger, the fan-out worker (poison queue after
 *   host.json `extensions.queues.maxDequeueCount` attempts).
 * The runtime is built on the first invocation and reused for the worker's life.
 */
const handlers = createAzureApp();

app.eventGrid('secretChanged', { handler: (event, context) => handlers.secretChanged(event, context) });

app.timer('scheduled', {
  schedule: '%RECONCILE_SCHEDULE%',
  handler: (timer, context) => handlers.scheduled(timer, context),
});

app.timer('scheduledRotate', {
  schedule: '%ROTATE_SCHEDULE%',
  handler: (timer, context) => handlers.scheduledRotate(timer, context),
});

app.storageQueue('applyWorkItem', {
  queueName: process.env['WORK_QUEUE_NAME'] ?? DEFAULT_WORK_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler: (entry, context) => handlers.applyWorkItem(entry, context),
});
