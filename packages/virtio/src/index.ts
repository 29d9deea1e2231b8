export { packed } from './layout.js';
export type { Field, Layout } from './layout.js';
