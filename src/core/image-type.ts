/**
 * What an uploaded photo is, from its first bytes, never from what the sender says: a phone's
 * JPEG (or a PNG or WebP a browser made) is kept; anything else (HTML, SVG with script, a
 * renamed executable) is refused before it is stored, so the console never serves it as an image.
 */
export const PHOTO_TYPES = ['image/jpeg', 'image/png', 'image/webp'] as const;
export type PhotoType = (typeof PHOTO_TYPES)[number];

export function photoTypeOf(bytes: Uint8Array): PhotoType | null {
  const at = (offset: number, ...expected: number[]) => expected.every((b, i) => bytes[offset + i] === b);
  // JPEG: SOI then a marker (FF D8 FF); the last two bytes are EOI (FF D9) when the file is whole.
  if (bytes.length >= 4 && at(0, 0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (bytes.length >= 8 && at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
  // RIFF <size> WEBP
  if (bytes.length >= 12 && at(0, 0x52, 0x49, 0x46, 0x46) && at(8, 0x57, 0x45, 0x42, 0x50)) return 'image/webp';
  return null;
}
