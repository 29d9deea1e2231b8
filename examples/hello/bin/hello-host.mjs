#!/usr/bin/env node
// hello as a plain Node program on the host (the "Linux" build): the same
// main() the image runs, called with this process's argv and environment.
import { main } from '../dist/hello.js';

process.exitCode = main([new URL('../dist/hello.js', import.meta.url).pathname, ...process.argv.slice(2)], { ...process.env });
