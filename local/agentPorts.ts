/**
 * NBD ports that stay the same across restarts of the local stack: a VM's agent asks for the port it
 * had last time (kept in its state dir) when that port is free, else for any free one.
 */
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';

const FILE = 'nbd-port';

/** Whether `port` can be listened on at `host` right now. */
export function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** The port to ask for: last time's when it is free, else 0 (any). */
export async function preferredPort(stateDir: string, host: string): Promise<number> {
  let text: string;
  try {
    text = await fs.readFile(path.join(stateDir, FILE), 'utf8');
  } catch {
    return 0;
  }
  const port = Number(text.trim());
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return 0;
  return (await portIsFree(host, port)) ? port : 0;
}

export async function rememberPort(stateDir: string, port: number): Promise<void> {
  await fs.mkdir(stateDir, { recursive: true });
  await fs.writeFile(path.join(stateDir, FILE), `${port}\n`);
}
