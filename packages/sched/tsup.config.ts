import { defineConfig } from 'tsup';
import { packageConfig } from '../../tsup.shared.js';

export default defineConfig(
  packageConfig({
    index: 'src/index.ts',
    host: 'src/host.ts',
    sim: 'src/sim.ts',
  }),
);
