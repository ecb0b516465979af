/**
 * `npm run build:inspector`: bundles the inspector page into inspector/dist,
 * which a published package serves as is. In a checkout the server bundles
 * the page itself when dist is missing or older than the sources.
 *
 *   npx tsx inspector/build.ts
 */
import { bundleInspectorPage } from '../src/runtime/inspector/index.js';

const { js, css } = await bundleInspectorPage(true);
process.stdout.write(
  `inspector/dist: inspector.js ${(js.length / 1024).toFixed(0)} KB, inspector.css ${(css.length / 1024).toFixed(1)} KB\n`,
);
