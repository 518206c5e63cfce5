import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './dock.js';

/**
 * A Mosquitto of the test's own, on its own port with persistence on, so a test can restart the
 * broker mid-stream without touching the machine's shared Mosquitto.
 */
export interface OwnMosquitto {
  url: string;
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function ownMosquitto(): Promise<OwnMosquitto> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fg-mosq-'));
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence true', `persistence_location ${dir}/`, 'autosave_interval 1', 'max_queued_messages 100000', ''].join('\n'));
  let proc: ChildProcess | null = null;
  const start = async () => {
    proc = spawn(existsSync('/usr/sbin/mosquitto') ? '/usr/sbin/mosquitto' : 'mosquitto', ['-c', conf], { stdio: 'ignore' });
    const deadline = Date.now() + 5000;
    for (;;) {
      const up = await new Promise<boolean>((resolve) => {
        const s = createConnection({ host: '127.0.0.1', port }, () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
      if (up) return;
      if (Date.now() > deadline) throw new Error('mosquitto did not start within 5 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async () => {
    const p = proc;
    proc = null;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM'); // saves its persistence file on the way out
    await exited;
  };
  await start();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    restart: async (downMs = 500) => {
      await stop();
      await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
    stop,
  };
}
