import { z } from 'zod';
import { ConfigError } from '../../errors.js';

/**
 * A fixed-width layout is data (config/layouts/*.json), so a utility with another hand-held
 * brand adds a file, not a parser. Columns are 1-based as in vendors' manuals.
 */
const fieldSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z][a-z0-9_]*$/, 'field names are snake_case'),
    start: z.number().int().min(1),
    length: z.number().int().min(1),
    type: z.enum(['string', 'integer', 'decimal', 'datetime', 'enum', 'flag']),
    justify: z.enum(['left', 'right']).optional(),
    pad: z.string().length(1).optional(),
    required: z.boolean().optional(),
    values: z.array(z.string()).optional(),
    overflow: z.enum(['error', 'truncate']).optional(),
    from: z.string().optional(),
    description: z.string().optional(),
  })
  .refine((f) => f.type !== 'enum' || (f.values && f.values.length > 0), { message: 'an enum field needs values' });

const layoutSchema = z
  .strictObject({
    name: z.string(),
    description: z.string().optional(),
    lineLength: z.number().int().min(1),
    lineEnding: z.enum(['\r\n', '\n']),
    fields: z.array(fieldSchema).min(1),
  })
  .superRefine((layout, ctx) => {
    const sorted = [...layout.fields].sort((a, b) => a.start - b.start);
    sorted.forEach((f, i) => {
      const end = f.start + f.length - 1;
      if (end > layout.lineLength)
        ctx.addIssue({
          code: 'custom',
          message: `field ${f.name} ends at ${end}, past lineLength ${layout.lineLength}`,
        });
      const next = sorted[i + 1];
      if (next && next.start <= end)
        ctx.addIssue({ code: 'custom', message: `fields ${f.name} and ${next.name} overlap` });
    });
  });

export type FieldDef = z.infer<typeof fieldSchema>;
export type Layout = z.infer<typeof layoutSchema>;

export function parseLayout(json: unknown, source: string): Layout {
  const result = layoutSchema.safeParse(json);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((i) => `${i.path.join('.') || '(layout)'}: ${i.message}`),
      source,
    );
  }
  return result.data;
}
