#!/usr/bin/env node
/** The osv-build executable: see USAGE in internal/cliMain.ts. */

import { runCli } from './internal/cliMain.js';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
