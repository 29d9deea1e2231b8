import { defineConfig } from 'tsup';
import { packageConfig } from '../../tsup.shared.js';

export default defineConfig(
  packageConfig({
    index: 'src/index.ts',
    abi: 'src/abi.ts',
    image: 'src/image.ts',
    vcpuWorker: 'src/vcpuWorker.ts',
    cli: 'src/cli.ts',
  }),
);
