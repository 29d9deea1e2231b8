import { defineConfig } from 'tsup';
import { packageConfig } from '../../tsup.shared.js';

export default defineConfig(
  packageConfig({
    index: 'src/index.ts',
    boot: 'src/boot.ts',
    rofs: 'src/rofs.ts',
  }),
);
