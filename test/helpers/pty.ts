import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A real pseudo-terminal pair made by socat: what a USB serial cable looks like to both ends. */
export interface PtyPair {
  a: string;
  b: string;
  /** Kills socat: both ends see the cable pulled. */
  pull(): Promise<void>;
}

/** A new pair, or (with `at`) one at the paths of a pulled pair: the cable plugged back in. */
export async function ptyPair(at?: { a: string; b: string }): Promise<PtyPair> {
  const dir = at ? null : mkdtempSync(path.join(tmpdir(), 'fg-pty-'));
  const a = at?.a ?? path.join(dir!, 'gateway');
  const b = at?.b ?? path.join(dir!, 'handheld');
  // A killed socat leaves its links behind, pointing at /dev/pts numbers the kernel hands out again:
  // another pair's PTY would answer on them. Gone, as the device node of an unplugged cable is.
  removeLinks(a, b);
  const socat: ChildProcess = spawn('socat', [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
    stdio: 'ignore',
  });
  const failed = new Promise<never>((_, reject) =>
    socat.once('error', (e) =>
      reject(new Error(`socat could not start (${e.message}); run test/tools/ensure-tools.sh`)),
    ),
  );
  const deadline = Date.now() + 5000;
  while (!(existsSync(a) && existsSync(b))) {
    if (Date.now() > deadline) throw new Error('socat did not create the PTY pair within 5 s');
    await Promise.race([new Promise((r) => setTimeout(r, 20)), failed]);
  }
  return {
    a,
    b,
    pull: () =>
      new Promise<void>((resolve) => {
        // A process killed by a signal has exitCode null and signalCode set.
        if (socat.exitCode !== null || socat.signalCode !== null) return resolve(removeLinks(a, b));
        socat.once('exit', () => resolve(removeLinks(a, b)));
        socat.kill('SIGKILL');
      }),
  };
}

function removeLinks(...links: string[]): void {
  for (const link of links) rmSync(link, { force: true });
}
