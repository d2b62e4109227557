import type { LocalStore } from './local-store.js';

export type NotificationChoice = 'ask' | 'granted' | 'denied' | 'unsupported';

/**
 * Browser notifications for mentions and direct messages while the tab is hidden. The
 * permission is asked once, from a button (browsers ignore prompts without a gesture);
 * "Not now" is remembered too.
 */
export class Notifier {
  readonly #store: LocalStore;

  constructor(store: LocalStore) {
    this.#store = store;
  }

  get choice(): NotificationChoice {
    if (typeof Notification === 'undefined') return 'unsupported';
    if (Notification.permission === 'granted') return 'granted';
    if (Notification.permission === 'denied' || this.#store.flag('notifications-asked')) return 'denied';
    return 'ask';
  }

  async ask(): Promise<void> {
    this.#store.setFlag('notifications-asked');
    if (typeof Notification !== 'undefined') await Notification.requestPermission();
  }

  decline(): void {
    this.#store.setFlag('notifications-asked');
  }

  /** Shows a notification if the page is hidden and allowed to; a click brings the page back. */
  show(title: string, body: string, onClick: () => void): void {
    if (typeof Notification === 'undefined' || Notification.permission !== 'granted' || !document.hidden) return;
    const notification = new Notification(title, { body: body.slice(0, 200), tag: title });
    notification.onclick = () => {
      window.focus();
      onClick();
      notification.close();
    };
  }
}
