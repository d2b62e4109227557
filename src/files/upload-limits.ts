import { SwitchboardError } from '../core/errors.js';
import type { Principal } from '../core/types.js';
import { KeyedBuckets } from '../edge/token-bucket.js';
import type { FileCatalog } from './file-catalog.js';

export interface UploadLimitSettings {
  /** Largest file, in bytes. */
  readonly maxFileBytes: number;
  /** Bytes one user's files may take together (uploaded or attached); 0: no quota. */
  readonly quotaBytesPerUser: number;
  /** Uploads one user may start per minute, on this node; 0: no limit. */
  readonly uploadsPerMinute: number;
}

/**
 * The per-file size limit, the per-user quota and the per-user upload rate, checked when
 * an upload starts (with the length it declares) and the quota again when it is stored.
 * The server (an API key) has a rate and a quota of its own like any user.
 */
export class UploadLimits {
  readonly settings: UploadLimitSettings;
  readonly #catalog: FileCatalog;
  readonly #starts: KeyedBuckets | null;

  constructor(catalog: FileCatalog, settings: UploadLimitSettings) {
    this.settings = settings;
    this.#catalog = catalog;
    this.#starts =
      settings.uploadsPerMinute > 0
        ? new KeyedBuckets({ perSecond: settings.uploadsPerMinute / 60, burst: settings.uploadsPerMinute })
        : null;
  }

  /** Refuses an upload of `size` bytes before any byte of it is read. */
  async admit(principal: Principal, size: number | undefined): Promise<void> {
    if (size !== undefined) this.assertSize(size);
    if (this.#starts && !this.#starts.take(principal.userId)) {
      throw new SwitchboardError('rate_limited', `At most ${this.settings.uploadsPerMinute} uploads a minute.`, {
        limit: this.settings.uploadsPerMinute,
      });
    }
    if (size !== undefined) await this.assertQuota(principal, size);
  }

  assertSize(size: number): void {
    const limit = this.settings.maxFileBytes;
    if (size > limit) throw new SwitchboardError('too_large', `A file may be at most ${limit} bytes.`, { limit });
  }

  async assertQuota(principal: Principal, size: number): Promise<void> {
    const quota = this.settings.quotaBytesPerUser;
    if (quota === 0) return;
    const used = await this.#catalog.usage(principal.userId);
    if (used + size > quota) {
      throw new SwitchboardError('too_large', `Your files would take more than your quota of ${quota} bytes (${used} used).`, {
        quota,
        used,
      });
    }
  }
}
