import type { AmiImportResult } from './import-ami.js';

/** One line a CSR or an operator can read: what a file brought and what became of it. */
export function describeImport(r: AmiImportResult): string {
  if (r.alreadyImported) return `${r.file}: imported already as batch ${r.batchId}; nothing changed`;
  const kinds = Object.entries(r.exceptionsByKind).map(([k, n]) => `${k} ${n}`).join(', ');
  return (
    `${r.file} (${r.format}, batch ${r.batchId}): ${r.received} intervals received, ${r.stored} stored, ${r.estimated} estimated, ` +
    `${r.registerReads} register reads, ${r.dailyReads} daily reads derived, ${r.unknownMeters} unknown meters, ` +
    `${r.exceptions} exceptions${kinds ? ` (${kinds})` : ''} in ${r.seconds.toFixed(1)} s`
  );
}
