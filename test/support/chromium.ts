import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const INSTALL = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'chromium.sh');

/**
 * Debian's chromium, headless, with everything that would reach beyond this machine turned
 * off (no QUIC, no background networking, component updates or sync). Installed by
 * scripts/chromium.sh when missing, as CI does, so a browser test never passes by skipping.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) execFileSync('bash', [INSTALL], { stdio: ['ignore', 'ignore', 'inherit'] });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
