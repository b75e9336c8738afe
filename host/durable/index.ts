export { createDurablePlugin } from './plugin';
