import { defineConfig } from 'tsup';
import { packageConfig } from '../../tsup.shared.js';

export default defineConfig(
  packageConfig({
    index: 'src/index.ts',
    driver: 'src/driver.ts',
    device: 'src/device.ts',
  }),
);
