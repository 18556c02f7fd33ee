import { existsSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';

/** Debian's chromium; CHROMIUM_PATH points elsewhere (a developer's own build). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Chromium, headless, with nothing that calls out: the test machines have no internet, and
 * without the background-networking flags Chromium's own connections are refused noisily.
 * Missing Chromium is a failure with instructions, never a silent pass.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: the dashboard's end-to-end tests drive it. ` +
        "Install Debian's package (sudo apt-get install -y chromium) or set CHROMIUM_PATH to a Chromium binary; .ci/run installs it in CI.",
    );
  }
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

export interface Listening {
  readonly server: Server;
  readonly url: string;
  /** Stop at once: refuse new connections and cut open ones (event streams included). */
  stop(): Promise<void>;
}

/** The app on a real socket (the browser needs one), port chosen by the OS. */
export async function listen(app: RequestListener): Promise<Listening> {
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let stopped: Promise<void> | undefined;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}
