import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
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

/**
 * `secure` runs it as docs/mqtt.md sets one up: no anonymous access, the logins given (written
 * with mosquitto_passwd), the project's ACL file, and client ids bound to logins.
 */
export async function ownMosquitto(
  opts: { secure?: { users: Record<string, string>; aclFile: string } } = {},
): Promise<OwnMosquitto> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fg-mosq-'));
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  const access = ['allow_anonymous true'];
  if (opts.secure) {
    const passwd = path.join(dir, 'passwd');
    writeFileSync(passwd, '');
    for (const [user, password] of Object.entries(opts.secure.users))
      execFileSync('mosquitto_passwd', ['-b', passwd, user, password]);
    // Mosquitto started as root reads its files as the mosquitto user: the ACL is copied beside the
    // password file, so a checkout in a private directory (mktemp -d is 0700) does not hide it.
    const acl = path.join(dir, 'fieldgate.acl');
    copyFileSync(opts.secure.aclFile, acl);
    chmodSync(dir, 0o755);
    chmodSync(passwd, 0o644);
    chmodSync(acl, 0o644);
    access.splice(
      0,
      1,
      'allow_anonymous false',
      `password_file ${passwd}`,
      `acl_file ${acl}`,
      'use_username_as_clientid true',
    );
  }
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      ...access,
      'persistence true',
      `persistence_location ${dir}/`,
      'autosave_interval 1',
      'max_queued_messages 100000',
      '',
    ].join('\n'),
  );
  let proc: ChildProcess | null = null;
  const start = async () => {
    const p = spawn(existsSync('/usr/sbin/mosquitto') ? '/usr/sbin/mosquitto' : 'mosquitto', ['-c', conf], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    proc = p;
    let said = '';
    p.stderr.on('data', (d: Buffer) => (said = (said + d.toString()).slice(-2000)));
    // Generous: a loaded CI machine (the whole suite at once) took over 5 s to bring one up.
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (p.exitCode !== null) throw new Error(`mosquitto exited (${p.exitCode}) before it listened: ${said.trim()}`);
      const up = await new Promise<boolean>((resolve) => {
        const s = createConnection({ host: '127.0.0.1', port }, () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
      if (up) return;
      if (Date.now() > deadline) throw new Error(`mosquitto did not start within 20 s: ${said.trim()}`);
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
