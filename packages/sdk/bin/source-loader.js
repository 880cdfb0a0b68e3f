// Runs the SDK from its TypeScript sources: registers source-hooks.js (`node --import` this file,
// or import it first). Stack traces point into the .ts files through the inline source maps.
import { register } from 'node:module';

register('./source-hooks.js', import.meta.url);
process.setSourceMapsEnabled(true);
