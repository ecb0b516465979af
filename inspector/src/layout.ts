/**
 * One elkjs instance for the page, running in a Web Worker served by the
 * inspector (`/elk-worker.js`): layouts of big charts then never block the
 * page, and the main bundle stays small.
 */
import ELK from 'elkjs/lib/elk-api.js';

export const elk = new ELK({ workerUrl: '/elk-worker.js' });
