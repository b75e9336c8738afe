export { startNbdServer, type NbdServer, type NbdServerOptions } from './server';
export type { ExportSource } from './exportTable';
