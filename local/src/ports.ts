/** Loopback port helpers: free ports chosen by the kernel, and "is it taken?" checks before a spawn. */
import net from 'node:net';
import { LocalError } from './errors.ts';

export const LOOPBACK = '127.0.0.1';

/** A port the kernel says is free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: LOOPBACK, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** `count` distinct free ports (held open together so the kernel cannot hand one out twice). */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      ports.push(
        await new Promise<number>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ host: LOOPBACK, port: 0, exclusive: true }, () => {
            const address = server.address();
            resolve(typeof address === 'object' && address ? address.port : 0);
          });
        }),
      );
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

/** True when nothing listens on host:port (we could bind it exclusively). */
export function isPortFree(port: number, host = LOOPBACK): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Throws LOCAL_ERR_PORT_TAKEN with `hint` (what to do) when the port is taken. */
export async function assertPortFree(port: number, hint: string): Promise<void> {
  if (!(await isPortFree(port))) {
    throw new LocalError('LOCAL_ERR_PORT_TAKEN', `port ${port} is taken: ${hint}`);
  }
}

/** Parses a port number from user input; 0 means "any free port". */
export function parsePort(value: string, what: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) {
    throw new LocalError('LOCAL_ERR_BAD_INPUT', `${what} must be a port number 0-65535, got "${value}"`);
  }
  return n;
}
