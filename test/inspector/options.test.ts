/**
 * Inspector options are checked before anything listens: a wrong type, an
 * out-of-range port, a short token or an unknown key is a TroupeError
 * INVALID_INPUT naming the field and the fix, from createRuntime and from
 * createInspectorServer alike.
 */
import { describe, expect, it } from 'vitest';
import { createRuntime, TroupeError } from '../../src/index.js';
import { createInspectorServer } from '../../src/runtime/inspector/index.js';

async function caught(action: () => Promise<unknown>): Promise<TroupeError> {
  const error = await action().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TroupeError);
  return error as TroupeError;
}

describe('inspector options', () => {
  it.each([
    [{ port: 'x' }, 'options.inspector.port: Invalid input: expected number, received string'],
    [{ port: 70_000 }, 'options.inspector.port: must be 0..65535'],
    [{ port: 1.5 }, 'options.inspector.port: must be an integer'],
    [{ port: 0, token: 'short' }, 'options.inspector.token: must be at least 8 characters'],
    [
      { port: 0, prot: 1 },
      'options.inspector: unknown key "prot"; known keys: port, host, token, controls',
    ],
    [{ port: 0, controls: 'yes' }, 'options.inspector.controls'],
    [null, 'options.inspector: Invalid input: expected object, received null'],
  ])(
    'createRuntime({ inspector: %j }) is INVALID_INPUT naming the field',
    async (inspector, text) => {
      const error = await caught(() =>
        createRuntime({ dataDir: false, inspector: inspector as never }),
      );
      expect(error.code).toBe('INVALID_INPUT');
      expect(error.message).toMatch(/^createRuntime\(\): invalid options\.inspector: /);
      expect(error.message).toContain(text);
      expect(error.message).toContain('Fix: pass { port, host?, token?, controls? }');
    },
  );

  it('createInspectorServer checks its own options the same way', async () => {
    const rt = await createRuntime({ dataDir: false });
    try {
      const runtime = rt as never;
      for (const [options, text] of [
        [{ port: 'x', runtime }, 'options.port: Invalid input'],
        [{ port: 0, runtime, batchMs: -1 }, 'options.batchMs: must be > 0'],
        [{ port: 0, runtime, ringsize: 5 }, 'options: unknown key "ringsize"'],
        [{ port: 0 }, 'options.runtime'],
      ] as const) {
        const error = await caught(() => createInspectorServer(options as never));
        expect(error.code).toBe('INVALID_INPUT');
        expect(error.message).toContain('createInspectorServer(): invalid options: ');
        expect(error.message).toContain(text);
      }
    } finally {
      await rt.close();
    }
  });
});
