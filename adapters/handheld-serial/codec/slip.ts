/** SLIP framing (RFC 1055): END body END, with END and ESC escaped inside the body. */
export const END = 0xc0;
export const ESC = 0xdb;
export const ESC_END = 0xdc;
export const ESC_ESC = 0xdd;

export function slipEncode(body: Uint8Array): Buffer {
  let extra = 0;
  for (const b of body) if (b === END || b === ESC) extra++;
  const out = Buffer.allocUnsafe(body.length + extra + 2);
  let o = 0;
  out[o++] = END;
  for (const b of body) {
    if (b === END) {
      out[o++] = ESC;
      out[o++] = ESC_END;
    } else if (b === ESC) {
      out[o++] = ESC;
      out[o++] = ESC_ESC;
    } else out[o++] = b;
  }
  out[o++] = END;
  return out;
}

/** Undoes the escaping of one body (without its ENDs). Null when an ESC is not followed by ESC_END/ESC_ESC. */
export function slipUnescape(escaped: Uint8Array): Buffer | null {
  const out = Buffer.allocUnsafe(escaped.length);
  let o = 0;
  for (let i = 0; i < escaped.length; i++) {
    const b = escaped[i]!;
    if (b !== ESC) {
      out[o++] = b;
      continue;
    }
    const next = escaped[++i];
    if (next === ESC_END) out[o++] = END;
    else if (next === ESC_ESC) out[o++] = ESC;
    else return null;
  }
  return out.subarray(0, o);
}
