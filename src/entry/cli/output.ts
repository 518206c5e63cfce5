/** Plain text tables for the terminal: what a CSR or IT person reads at a glance. */
export function formatTable(rows: readonly object[], columns?: string[]): string {
  if (rows.length === 0) return '(none)';
  const records = rows as readonly Record<string, unknown>[];
  const cols = columns ?? Object.keys(records[0]!);
  const cell = (v: unknown) =>
    v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  const widths = cols.map((c) => Math.min(60, Math.max(c.length, ...records.map((r) => cell(r[c]).length))));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.slice(0, widths[i]).padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [
    line(cols),
    line(widths.map((w) => '-'.repeat(w))),
    ...records.map((r) => line(cols.map((c) => cell(r[c])))),
  ].join('\n');
}
