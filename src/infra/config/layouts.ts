import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../errors.js';
import { parseLayout, type Layout } from '../../core/fixed-width/layout.js';

/** The layouts shipped in (or added to) config/layouts/, read from disk; their schema is core's. */
export function loadLayout(dir: string, name: string): Layout {
  const file = path.join(dir, `${name}.json`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    const known = listLayouts(dir).join(', ') || 'none';
    throw new ConfigError([`layout '${name}' not found in ${dir} (known: ${known})`], file);
  }
  return parseLayout(JSON.parse(text), file);
}

export function listLayouts(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -5))
      .sort();
  } catch {
    return [];
  }
}
