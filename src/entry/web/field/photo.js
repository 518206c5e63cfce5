// A photo of a register as the phone keeps and sends it: scaled down on the phone (a phone camera
// gives 4-12 MB; a register reads fine at 1280 px) and re-encoded as JPEG, which also drops the
// original's EXIF (where the reader's phone was, its serial). Smaller still until it is under the cap.

const LONGEST_SIDE = 1280;
/** Under the gateway's default fieldApp.photoMaxBytes (2,000,000) with room to spare. */
const MAX_BYTES = 900_000;

/** @param {File | Blob} file @returns {Promise<Blob>} */
export async function resizedPhoto(file) {
  if (!file.type.startsWith('image/')) throw new Error('not an image');
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, LONGEST_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  for (const quality of [0.82, 0.7, 0.55, 0.4]) {
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', quality));
    if (blob && blob.size <= MAX_BYTES) return blob;
  }
  throw new Error('the photo stays too large even at low quality');
}
