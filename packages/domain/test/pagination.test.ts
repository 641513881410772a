import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  booleanQuerySchema,
  cursorSchema,
  decodeCursor,
  encodeCursor,
  limitQuerySchema,
  listEnvelopeSchema,
  runSchema,
} from '../src/index.js';

describe('listEnvelopeSchema', () => {
  it('wraps any item schema as { items, nextCursor }', () => {
    const schema = listEnvelopeSchema(z.object({ id: z.string() }));
    expect(schema.parse({ items: [{ id: 'a' }], nextCursor: null })).toEqual({
      items: [{ id: 'a' }],
      nextCursor: null,
    });
    expect(schema.parse({ items: [], nextCursor: 'abc' }).nextCursor).toBe('abc');
    expect(schema.safeParse({ items: [{ id: 1 }], nextCursor: null }).success).toBe(false);
    expect(schema.safeParse({ items: [] }).success).toBe(false);
    expect(listEnvelopeSchema(runSchema).safeParse({ items: [], nextCursor: null }).success).toBe(
      true,
    );
  });
});

describe('limitQuerySchema', () => {
  it('defaults to 50 and reads digits', () => {
    expect(limitQuerySchema.parse(undefined)).toBe(50);
    expect(limitQuerySchema.parse('1')).toBe(1);
    expect(limitQuerySchema.parse('200')).toBe(200);
    expect(limitQuerySchema.parse(25)).toBe(25);
  });

  it.each(['0', '201', '-1', '1e2', '0x10', ' 5', '5.5', '', 'abc', 5.5, 0, 1000])(
    'rejects %j',
    (value) => {
      expect(limitQuerySchema.safeParse(value).success).toBe(false);
    },
  );
});

describe('cursors', () => {
  it('round-trips a position through an opaque base64url cursor', () => {
    for (const position of ['run-123', '1715335200000:6f1c1f8e', 'ünïcødé']) {
      const cursor = encodeCursor(position);
      expect(cursorSchema.parse(cursor)).toBe(cursor);
      expect(decodeCursor(cursor)).toBe(position);
    }
  });

  it.each(['', 'abc=', 'a+b', 'a/b', 'a b', '../x', 'x'.repeat(513), 'a\nb'])(
    'rejects %j',
    (cursor) => {
      expect(cursorSchema.safeParse(cursor).success).toBe(false);
      expect(decodeCursor(cursor)).toBeNull();
    },
  );

  it('rejects a cursor that is not canonical base64url of UTF-8', () => {
    expect(decodeCursor('_w')).toBeNull(); // 0xFF: not UTF-8
    expect(decodeCursor('YR')).toBeNull(); // non-zero padding bits
  });
});

describe('booleanQuerySchema', () => {
  it('reads true/false/1/0 only', () => {
    expect(booleanQuerySchema.parse('true')).toBe(true);
    expect(booleanQuerySchema.parse('1')).toBe(true);
    expect(booleanQuerySchema.parse('false')).toBe(false);
    expect(booleanQuerySchema.parse('0')).toBe(false);
    expect(booleanQuerySchema.safeParse('yes').success).toBe(false);
  });
});
