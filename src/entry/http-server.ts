import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { ConfigError } from '../errors.js';
import type { Config } from '../infra/config/schema.js';

export type GatewayServer = HttpServer | HttpsServer;

/**
 * The gateway's HTTP listener: plain HTTP, or HTTPS when `server.tls` names a certificate and key
 * (PEM files, read at start). Resolves once it listens, with the URL people reach it at.
 */
export async function listen(app: Express, server: Config['server']): Promise<{ server: GatewayServer; url: string }> {
  const { cert, key } = server.tls;
  const s: GatewayServer =
    cert && key ? createHttpsServer({ cert: read(cert, 'cert'), key: read(key, 'key') }, app) : createHttpServer(app);
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(server.port, server.host, () => {
      s.off('error', reject);
      resolve();
    });
  });
  const port = (s.address() as AddressInfo).port;
  return { server: s, url: `${cert && key ? 'https' : 'http'}://${server.host}:${port}` };
}

function read(file: string, field: 'cert' | 'key'): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError([`server.tls.${field}: cannot read ${file}: ${(err as Error).message}`], 'server.tls');
  }
}
