import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

export interface MetricsServer {
  /** HOST:PORT actually bound (useful with port 0). */
  address: string;
  close(): Promise<void>;
}

/** Splits "HOST:PORT" or "[V6]:PORT"; the host is required so that exposing metrics beyond loopback is a choice. */
export function parseListen(listen: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(listen);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new Error(`--metrics-listen: "${listen}" is not HOST:PORT`);
  return { host: match[1] ?? match[2] ?? '', port };
}

/** Serves the registry as `GET /metrics` on plain HTTP (what Prometheus scrapes); anything else is 404. */
export async function serveMetrics(listen: string, registry: Registry, logger: Logger): Promise<MetricsServer> {
  const { host, port } = parseListen(listen);
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found; metrics are at /metrics\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(request.method === 'HEAD' ? undefined : text),
      (error: unknown) => {
        logger.warn({ err: error }, 'metrics collection failed');
        response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const address = `${host.includes(':') ? `[${host}]` : host}:${bound}`;
  logger.info({ address }, 'serving metrics');
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        // A scraper's keep-alive connection would hold close() open until it times out.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
