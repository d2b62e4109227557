import { DropProxy } from './drop-proxy.js';

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
