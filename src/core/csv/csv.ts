/**
 * CSV as CISs write and read it (RFC 4180): fields separated by a delimiter, a field quoted when
 * it holds the delimiter, a quote or a line break, quotes doubled inside. Pure: one record's text
 * in, its fields out, or why not; and fields out as one record's text.
 */

export type CsvParse = { ok: true; fields: string[] } | { ok: false; reason: string };

export function parseCsvRecord(text: string, delimiter = ','): CsvParse {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (text[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) return { ok: false, reason: `a quoted field is not closed (from column ${fields.length + 1})` };
        value += text.slice(i, q);
        if (text[q + 1] === '"') {
          value += '"';
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      if (i < text.length && text[i] !== delimiter)
        return { ok: false, reason: `text after a quoted field's closing quote (column ${fields.length + 1})` };
      fields.push(value);
    } else {
      const d = text.indexOf(delimiter, i);
      const end = d < 0 ? text.length : d;
      const value = text.slice(i, end);
      if (value.includes('"'))
        return { ok: false, reason: `a quote inside an unquoted field (column ${fields.length + 1})` };
      fields.push(value);
      i = end;
    }
    if (i >= text.length) return { ok: true, fields };
    i++; // the delimiter
    if (i === text.length) {
      fields.push('');
      return { ok: true, fields };
    }
  }
}

export function csvRecord(fields: readonly (string | number | null | undefined)[], delimiter = ','): string {
  return fields
    .map((f) => {
      const s = f === null || f === undefined ? '' : String(f);
      return s.includes(delimiter) || s.includes('"') || s.includes('\n') || s.includes('\r')
        ? `"${s.replace(/"/g, '""')}"`
        : s;
    })
    .join(delimiter);
}
