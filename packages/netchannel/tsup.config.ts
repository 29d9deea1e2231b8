import { defineConfig } from 'tsup';
import { packageConfig } from '../../tsup.shared.js';

export default defineConfig(
  packageConfig({
    index: 'src/index.ts',
    'host/index': 'src/host/index.ts',
  }),
);
