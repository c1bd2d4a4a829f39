/** A Table string property holding JSON: a zod codec that validates the parsed value with `schema` when read. */
import { z } from 'zod';

export function jsonProperty<T extends z.ZodType>(schema: T) {
  return z.codec(z.string(), schema, {
    decode: (text, ctx) => {
      try {
        // Typed for the codec only: the schema validates the parsed value right after.
        return JSON.parse(text) as z.input<T>;
      } catch (error) {
        ctx.issues.push({ code: 'invalid_format', format: 'json', input: text, message: (error as Error).message });
        return z.NEVER;
      }
    },
    encode: (value) => JSON.stringify(value),
  });
}
