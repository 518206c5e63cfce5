import { describe, expect, it } from 'vitest';
import { isDeviceId, readerDeviceId } from '../../src/core/device-id.js';
import { photoTypeOf } from '../../src/core/image-type.js';
import { appBatch } from '../../src/flows/field/reader-schemas.js';
import { deviceOfReader } from '../../src/flows/field/reader-device.js';

/** The field app's rules that need no gateway: what a photo is, which device a reader's phone is, what a batch may hold. */
describe('photos from the field', () => {
  it('knows a JPEG, PNG or WebP by its first bytes, and nothing else', () => {
    expect(photoTypeOf(Buffer.from([0xff, 0xd8, 0xff, 0xe1, 0, 0]))).toBe('image/jpeg');
    expect(photoTypeOf(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]))).toBe('image/png');
    expect(photoTypeOf(Buffer.from('RIFF\x10\x00\x00\x00WEBPVP8 ', 'latin1'))).toBe('image/webp');
    // What a sender might call a photo: HTML, SVG with script, a RIFF that is a WAV, a cut-off JPEG start.
    for (const text of [
      '<html><script>alert(1)</script>',
      '<svg onload="x()">',
      'RIFF\x10\x00\x00\x00WAVEfmt ',
      '\xff\xd8',
    ])
      expect(photoTypeOf(Buffer.from(text, 'latin1'))).toBeNull();
    expect(photoTypeOf(Buffer.alloc(0))).toBeNull();
  });
});

describe("a reader's phone as a device", () => {
  it('is app.<username>, a device id; a long name keeps its start and a hash, and stays apart from others', () => {
    expect(deviceOfReader('rita')).toBe('app.rita');
    const long = 'a'.repeat(40);
    const other = `${'a'.repeat(39)}b`;
    expect(deviceOfReader(long)).toMatch(/^app\.a{19}\.[0-9a-f]{8}$/);
    expect(deviceOfReader(long)).not.toBe(deviceOfReader(other));
    for (const name of ['rita', long, 'j.o_n-es', 'x'.repeat(64)]) expect(isDeviceId(deviceOfReader(name))).toBe(true);
    expect(readerDeviceId('ab', () => 'ffffffff')).toBe('app.ab');
  });
});

describe("the app's readings batch", () => {
  const schema = appBatch(3);
  const reading = {
    sequence: 1,
    account: '0000001-01',
    meterId: 'W0000001',
    register: 1,
    reading: 120,
    readAt: '2026-11-23T15:00:00Z',
  };
  const batch = { batchId: 'b-1', route: 'R01', cycle: '2026-11', final: false, readings: [reading] };

  it('takes a read, or a skip with its code', () => {
    expect(schema.safeParse(batch).success).toBe(true);
    expect(schema.safeParse({ ...batch, readings: [{ ...reading, reading: null, skipCode: 'DOG' }] }).success).toBe(
      true,
    );
  });

  it('refuses a value with a skip code, neither, too many readings, or a batch id that is not a plain name', () => {
    const issue = (b: unknown) => schema.safeParse(b).error?.issues.map((i) => i.path.join('.'));
    expect(issue({ ...batch, readings: [{ ...reading, skipCode: 'DOG' }] })).toEqual(['readings.0.skipCode']);
    expect(issue({ ...batch, readings: [{ ...reading, reading: null }] })).toEqual(['readings.0.skipCode']);
    expect(issue({ ...batch, readings: [reading, reading, reading, reading] })).toEqual(['readings']);
    expect(issue({ ...batch, batchId: '../etc' })).toEqual(['batchId']);
    expect(issue({ ...batch, readings: [{ ...reading, note: 'n'.repeat(41) }] })).toEqual(['readings.0.note']);
  });
});
