import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { checksum } from '../../src/runtime/durability/records.js';

describe('checksum', () => {
  it('is the CRC-32 of the UTF-8 bytes at every size, non-ASCII text included', () => {
    const unit = '{"id":"tâche-é","out":"✓ 🎭","n":1},';
    for (const text of ['', unit, unit.repeat(200), unit.repeat(100_000)]) {
      expect(checksum(text)).toBe(crc32(Buffer.from(text, 'utf8')));
      expect(checksum(text)).toBe(crc32(text));
    }
    // A changed character far into a large text changes it.
    const large = unit.repeat(100_000);
    expect(checksum(`${large.slice(0, -2)}2,`)).not.toBe(checksum(large));
  });
});
