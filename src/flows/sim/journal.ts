import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';

/**
 * A simulator's copy of every reading it made, kept outside the device's own storage (which the
 * gateway clears): one line per reading, `device<TAB>route<TAB>read-file line`. The fault suite
 * checks what billing holds against it.
 */
export function appendJournal(
  file: string | undefined,
  deviceId: string,
  route: string,
  lines: readonly string[],
): void {
  if (!file || lines.length === 0) return;
  const fd = openSync(file, 'a');
  try {
    writeSync(fd, lines.map((l) => `${deviceId}\t${route}\t${l}\n`).join(''), null, 'latin1');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface JournalEntry {
  deviceId: string;
  route: string;
  line: string;
}

export function parseJournal(text: string): JournalEntry[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((row) => {
      const [deviceId = '', route = '', line = ''] = row.split('\t');
      return { deviceId, route, line };
    });
}
