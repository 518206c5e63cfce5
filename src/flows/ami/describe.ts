import type { AmiImportResult } from './import-ami.js';

/** One line a CSR or an operator can read: what a file brought and what became of it. */
export function describeImport(r: AmiImportResult): string {
  if (r.alreadyImported) return `${r.file}: imported already as batch ${r.batchId}; nothing changed`;
  const kinds = Object.entries(r.exceptionsByKind)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return (
    `${r.file} (${r.format}, batch ${r.batchId}): ${r.received} intervals received, ${r.stored} stored, ` +
    `${r.estimated} estimated, ` +
    `${r.registerReads} register reads, ${r.dailyReads} daily reads derived, ${r.unknownMeters} unknown meters, ` +
    `${r.exceptions} exceptions${kinds ? ` (${kinds})` : ''} in ${r.seconds.toFixed(1)} s`
  );
}

/**
 * Whether an imported file is done (its bad records, if any, are exceptions in the queue) or failed, and why:
 * the drop folder moves it by this, and `fieldgate ami import` exits by it.
 */
export function importOutcome(r: AmiImportResult): { ok: boolean; reason: string } {
  const kinds = r.exceptionsByKind;
  const summary = describeImport(r);
  if (kinds.REFUSED) return { ok: false, reason: `refused: ${summary}` };
  if (kinds.LINE_TOO_LONG && r.received === 0 && r.registerReads === 0)
    return { ok: false, reason: `no data: every line was too long to be a record (ami.maxLineLength): ${summary}` };
  if (!r.alreadyImported && r.received === 0 && r.registerReads === 0 && r.exceptions > 0)
    return { ok: false, reason: `no data: not one record could be read: ${summary}` };
  if (kinds.TRUNCATED)
    return {
      ok: false,
      reason: `truncated (the intervals before the cut are stored; send the whole file again): ${summary}`,
    };
  return { ok: true, reason: summary };
}
