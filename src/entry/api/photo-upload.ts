import type { Request, Response } from 'express';
import type { AttachmentInfo } from '../../infra/store/attachments-repo.js';

/** A photo upload's bytes (the raw body app.ts reads for the photo paths, capped). */
export const uploadedBytes = (req: Request): Buffer => (Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));

/** 201 with the photo kept, or 200 with the one kept before (the same bytes sent again). */
export async function answerPhoto(res: Response, kept: Promise<{ info: AttachmentInfo; created: boolean }>) {
  const { info, created } = await kept;
  res.status(created ? 201 : 200).json(info);
}
