// Prints fresh local-cluster TLS material as JSON. Run outside jest (see `tlsMaterial` in run-cli.ts).
import { createTlsMaterial } from '../../dev/kube/tls.js';

process.stdout.write(JSON.stringify(createTlsMaterial()));
