import type { UserState } from '../../../client/src/index.js';

/** Dark enough for white initials (WCAG AA), and distinct from each other. */
const PALETTE = [
  '#b42318', '#b93815', '#93370d', '#027a48', '#087443', '#107569', '#026aa2', '#175cd3',
  '#3538cd', '#5925dc', '#6941c6', '#9f1ab1', '#c11574', '#344054',
];

/** The same colour for a user everywhere and on every device (a hash of the id). */
export function colorOf(user: string): string {
  let hash = 2166136261;
  for (let i = 0; i < user.length; i++) hash = Math.imul(hash ^ user.charCodeAt(i), 16777619);
  return PALETTE[(hash >>> 0) % PALETTE.length]!;
}

export function initialsOf(name: string): string {
  const parts = name.split(/[\s._@-]+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0]![0]! + parts[1]![0]! : name.slice(0, 2);
  return letters.toUpperCase();
}

export function Avatar({ user, size = 36, status, url }: { user: string; size?: number; status?: UserState['status']; url?: string | null }) {
  return (
    <span className="avatar" aria-hidden="true" style={{ background: colorOf(user), width: size, height: size, fontSize: size * 0.4 }}>
      {/* The user's own picture over their initials; no referrer goes to whoever hosts it. */}
      {url ? <img className="avatar-image" src={url} alt="" referrerPolicy="no-referrer" loading="lazy" /> : initialsOf(user)}
      {status && <span className={`status-dot ${status}`} />}
    </span>
  );
}

/** The name a user gave themselves (their profile), else their id. */
export function nameOf(users: ReadonlyMap<string, UserState>, user: string): string {
  return users.get(user)?.name ?? user;
}

export function StatusDot({ status }: { status: UserState['status'] }) {
  return <span className={`status-dot inline ${status}`} aria-hidden="true" />;
}

export const STATUS_LABEL: Record<UserState['status'], string> = {
  online: 'Online',
  away: 'Away',
  offline: 'Offline',
};

export function lastSeenText(state: UserState | undefined, now = Date.now()): string {
  if (!state) return 'Status unknown';
  if (state.status !== 'offline') return STATUS_LABEL[state.status];
  if (state.lastSeen === null) return 'Offline';
  return `Offline, last seen ${relativeTime(state.lastSeen, now)}`;
}

export function relativeTime(at: number, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - at) / 1000));
  if (seconds < 60) return 'just now';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  return new Date(at).toLocaleDateString([], { month: 'short', day: 'numeric' });
}

export function timeOf(at: number): string {
  return new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export function dayOf(at: number, now = Date.now()): string {
  const date = new Date(at);
  const today = new Date(now);
  const yesterday = new Date(now - 86_400_000);
  if (date.toDateString() === today.toDateString()) return 'Today';
  if (date.toDateString() === yesterday.toDateString()) return 'Yesterday';
  return date.toLocaleDateString([], { weekday: 'long', month: 'long', day: 'numeric', year: date.getFullYear() === today.getFullYear() ? undefined : 'numeric' });
}
