#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (run by npm install's prepare step).
import { main } from '../dist/src/entry/cli/main.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err?.stack ?? String(err));
    process.exitCode = 1;
  },
);
