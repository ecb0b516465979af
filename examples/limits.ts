/**
 * Values and limits: a task whose agent hands over a BigInt fails with
 * INVALID_VALUE (the path of the bad value in the error) while another run
 * completes; a message over the size limit is refused with VALUE_TOO_LARGE
 * naming the option that raises it; a time limit Node cannot arm is refused.
 *
 *   npx tsx examples/limits.ts
 */
import { createRuntime, defineAgent, TroupeError } from '../src/index.js';

const rt = await createRuntime({
  dataDir: false,
  limits: { maxMessageBytes: 64 * 1024 },
  agents: [
    defineAgent({
      role: 'careless',
      run: (_task, ctx) => {
        ctx.updateShared({ total: 10n as unknown });
        return 'never stored';
      },
    }),
    defineAgent({ role: 'careful', run: () => ({ total: '10' }) }),
  ],
});

const [bad, good] = await Promise.all([
  rt.engine.execute({ name: 'bad', tasks: [{ id: 'sum', agent: 'careless' }] }),
  rt.engine.execute({ name: 'good', tasks: [{ id: 'sum', agent: 'careful' }] }),
]);
console.log(
  `bad run: ${bad.status}, ${bad.tasks.sum?.error?.code}: ${bad.tasks.sum?.error?.message}`,
);
console.log(`good run: ${good.status}, output ${JSON.stringify(good.tasks.sum?.output)}`);

try {
  await rt.communicator.sendMessage({
    from: 'user',
    to: 'careful',
    type: 'notification',
    payload: 'x'.repeat(100_000),
  });
} catch (error) {
  if (!(error instanceof TroupeError)) throw error;
  console.log(`${error.code}: ${error.message}`);
}

try {
  await rt.communicator.acquireLock('wf', 'key', 'me', { timeout: 30 * 24 * 3_600_000 });
} catch (error) {
  if (!(error instanceof TroupeError)) throw error;
  console.log(`${error.code}: ${error.message}`);
}

await rt.close();
