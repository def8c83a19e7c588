/** Starts the real `ecrx serve` as a subprocess on a free loopback port, as users run it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { BIN } from './cli.js';

export interface Serve {
  endpoint: string;
  dataDir: string;
  child: ChildProcess;
  log: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
  /** Stops and removes the data directory. */
  dispose: () => Promise<void>;
}

export async function startServe(args: string[] = [], dataDir?: string): Promise<Serve> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'ecrx-test-serve-'));
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--json', '--log', '--data-dir', dir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const lines = createInterface({ input: child.stdout! });
  const first = await Promise.race([
    once(lines, 'line').then(([l]) => l as string),
    once(child, 'exit').then(([code]) => {
      throw new Error(`ecrx serve exited with ${code}: ${stderr}`);
    }),
  ]);
  const endpoint = JSON.parse(first).data.endpoint as string;
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill(signal);
    const [code] = await once(child, 'exit');
    return code as number | null;
  };
  return {
    endpoint,
    dataDir: dir,
    child,
    log: () => stderr,
    stop,
    dispose: async () => {
      await stop();
      if (!dataDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
