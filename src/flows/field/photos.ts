import { createHash } from 'node:crypto';
import { photoTypeOf } from '../../core/image-type.js';
import { AppError } from '../../errors.js';

/** A photo's bytes as kept: its type from its content (never the sender's word), its size within the cap. */
export function checkedPhoto(bytes: Buffer, maxBytes: number) {
  if (bytes.length > maxBytes)
    throw new AppError(
      'PHOTO_TOO_LARGE',
      `a photo of ${bytes.length} bytes is over the ${maxBytes} the gateway keeps`,
      {
        field: 'photo',
      },
    );
  const type = photoTypeOf(bytes);
  if (!type) throw new AppError('PHOTO_TYPE', 'the upload is not a JPEG, PNG or WebP photo', { field: 'photo' });
  return {
    sha256: createHash('sha256').update(bytes).digest('hex'),
    content_type: type,
    bytes: bytes.length,
    content: bytes,
  };
}
