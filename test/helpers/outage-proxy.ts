import { onTestFinished } from 'vitest';
import { BlackholeProxy } from './blackhole-proxy.js';
import { DropProxy } from './drop-proxy.js';
import { createTestSchema } from './postgres.js';
import { createRedisPrefix } from './redis-prefix.js';
import { serviceUrl } from './services.js';

/**
 * A loopback TCP proxy with an outage switch: `cut()` drops every connection and refuses
 * new ones, as a database that went away would; `restore()` lets traffic through again.
 * Takes PostgreSQL "down" for one server without touching the shared instance.
 * A DropProxy underneath, in the words of an outage.
 */
export class OutageProxy {
  readonly #proxy: DropProxy;

  private constructor(proxy: DropProxy) {
    this.#proxy = proxy;
  }

  static async start(targetPort: number): Promise<OutageProxy> {
    return new OutageProxy(await DropProxy.start(targetPort));
  }

  get port(): number {
    return this.#proxy.port;
  }

  cut(): void {
    this.#proxy.refuse();
    this.#proxy.dropAll();
  }

  restore(): void {
    this.#proxy.accept();
  }

  close(): Promise<void> {
    return this.#proxy.close();
  }
}

/**
 * A fresh PostgreSQL schema, reachable directly (`schemaUrl`) and through an OutageProxy
 * (`proxiedUrl`): whatever connects through the proxy loses the database on `cut()`, the
 * rest keeps it. Dropped after the test.
 */
export function databaseBehindOutageProxy(label: string): Promise<{ proxy: OutageProxy; schemaUrl: string; proxiedUrl: string }> {
  return databaseBehind(label, (port) => OutageProxy.start(port));
}

/**
 * The same behind a BlackholeProxy, for the silent kind of outage: on `blackhole()` the
 * database's connections stay open and move no byte, and new ones are accepted and held:
 * a pool's new connections wait out its connect timeout instead of being refused.
 */
export function databaseBehindBlackholeProxy(label: string): Promise<{ proxy: BlackholeProxy; schemaUrl: string; proxiedUrl: string }> {
  return databaseBehind(label, (port) => BlackholeProxy.start(port));
}

/**
 * Another OutageProxy to a schema from databaseBehindOutageProxy, for a second node that
 * loses the database on a switch of its own. Closed after the test.
 */
export function anotherOutageProxy(schemaUrl: string): Promise<{ proxy: OutageProxy; proxiedUrl: string }> {
  return proxyTo(schemaUrl, (port) => OutageProxy.start(port));
}

async function databaseBehind<P extends { readonly port: number; close(): Promise<void> }>(
  label: string,
  startProxy: (targetPort: number) => Promise<P>,
): Promise<{ proxy: P; schemaUrl: string; proxiedUrl: string }> {
  const schema = await createTestSchema(serviceUrl('TEST_DATABASE_URL')!, label);
  onTestFinished(() => schema.drop());
  return { ...(await proxyTo(schema.url, startProxy)), schemaUrl: schema.url };
}

/** A proxy in front of the schema's server, and the schema's URL through it. */
async function proxyTo<P extends { readonly port: number; close(): Promise<void> }>(
  schemaUrl: string,
  startProxy: (targetPort: number) => Promise<P>,
): Promise<{ proxy: P; proxiedUrl: string }> {
  const proxied = new URL(schemaUrl);
  const proxy = await startProxy(Number(proxied.port || 5432));
  onTestFinished(() => proxy.close());
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);
  return { proxy, proxiedUrl: proxied.toString() };
}

/** The same, with a fresh Redis prefix for the nodes of a cluster test. */
export async function clusterBehindOutageProxy(label: string): Promise<{ proxy: OutageProxy; schemaUrl: string; proxiedUrl: string; redisUrl: string }> {
  const database = await databaseBehindOutageProxy(label);
  const redis = createRedisPrefix(serviceUrl('TEST_REDIS_URL')!, label);
  onTestFinished(() => redis.drop());
  return { ...database, redisUrl: redis.url };
}
