import { z } from 'zod';

// Under the web app's Content-Security-Policy (no 'unsafe-eval') zod may not compile its parsers, and its probe for
// that (a caught `new Function`) is still reported as a violation: in a browser it interprets instead. Every
// contracts file takes `z` from here so that this runs before any schema is built.
if ('document' in globalThis) z.config({ jitless: true });

export { z };
