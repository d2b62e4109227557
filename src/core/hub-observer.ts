import type { AnnotateInput, PublishInput } from './hub-requests.js';
import type { Logger } from './logger.js';
import type { Session } from './session.js';
import type { Channel, ChannelEvent, ChannelId, EphemeralEvent, Member, Principal, UserId } from './types.js';

/**
 * A change about to be made, for observers that may refuse it (`authorize`). Core's own
 * access rules have passed by then; the channel is the one the rules were checked on.
 */
export type HubAction =
  | { readonly type: 'publish'; readonly principal: Principal; readonly channel: Channel; readonly input: PublishInput }
  | {
      readonly type: 'edit' | 'delete';
      readonly principal: Principal;
      readonly channel: Channel;
      readonly target: ChannelEvent;
    }
  | { readonly type: 'annotate'; readonly principal: Principal; readonly channel: Channel; readonly input: AnnotateInput }
  | { readonly type: 'subscribe'; readonly session: Session; readonly channel: Channel };

/**
 * Hooks for modules built beside the hub (chat, webhooks, operations): the hub's extension
 * points. Every hook but `authorize` is called after the change took effect on this node,
 * synchronously and never awaited: an observer that needs the database starts its own
 * work. A throwing observer is logged and ignored, so a module never breaks the hub's path.
 *
 * @example
 *   hub.observe({
 *     authorize(action) {
 *       if (action.type === 'publish' && action.channel.id === 'frozen') throw new SwitchboardError('forbidden');
 *     },
 *     published: (event) => audit.push(event),
 *   });
 */
export interface HubObserver {
  /**
   * The veto point: called before a publish, edit, delete, annotation or subscribe takes
   * effect, after core's access rules passed. Throw (or reject with) a SwitchboardError
   * to refuse it; the caller gets that error and nothing changes.
   */
  authorize?(action: HubAction): void | Promise<void>;
  /**
   * A user is about to open a session: called before the user is recorded and the session
   * registered, so a module can start the reads its `sessionOpened` will make. Started now,
   * they share a batch round with the connect's own write and are, on SQLite, answered by
   * the time the session opens. The connect may still be refused; nothing is to be
   * changed here.
   */
  connecting?(principal: Principal): void;
  /**
   * The veto on a new session (auth: a banned user), called synchronously once the session
   * is registered and before anyone is told of it, so a ban that arrives from another node
   * while a session is being opened either is seen here or ends the registered session.
   * Throw a SwitchboardError to refuse it: the session closes and the caller gets the error.
   */
  sessionOpening?(session: Session): void;
  sessionOpened?(session: Session): void;
  sessionClosed?(session: Session): void;
  /** A new event was committed by this node (duplicates by `cid` are not reported). */
  published?(event: ChannelEvent): void;
  channelCreated?(channel: Channel): void;
  channelUpdated?(channel: Channel): void;
  channelDeleted?(channel: ChannelId): void;
  /**
   * A presence frame (join/add/remove/leave, one change or a tick's batch, with its id and
   * time) was made on this node, where the change happened; other nodes relay it, they do
   * not report it (the event log).
   */
  presenceChanged?(frame: EphemeralEvent): void;
  /** The channel's first subscriber on this node arrived (each node reports its own). */
  channelOccupied?(channel: ChannelId): void;
  /** The channel's last subscriber on this node left. */
  channelVacated?(channel: ChannelId): void;
  memberAdded?(member: Member): void;
  /**
   * A stored user's profile changed: name, avatar URL or status text (`users.update`), or
   * the name a connect's credential brought (never a name that only fills in). Read the
   * user again for what it is now.
   */
  profileChanged?(user: UserId): void;
  memberRemoved?(channel: ChannelId, user: UserId): void;
  /**
   * A module's message from another node (sent there with `hub.sendNotice`). Each module
   * names its own (`module`) and ignores the others'; `body` arrives as it was sent (JSON).
   */
  notice?(module: string, body: unknown): void;
  /**
   * The presence registry changed on its own at this node (it reaped a dead node's sessions,
   * or wrote this node's back after a partition). Heard by that node alone: one node acts.
   */
  registryChanged?(event: EphemeralEvent): void;
  /**
   * The broker may have lost messages (its link came back, or its periodic safety net):
   * a module that keeps state from its notices reloads it from the store.
   */
  brokerResync?(): void;
  /** A group commit finished: `size` appends in one transaction that took `millis` (operations). */
  committed?(size: number, millis: number): void;
  /**
   * A live event was handed to this node's subscribers: `recipients` counts them per
   * transport. Called once per event and node, never per socket (operations).
   */
  delivered?(event: ChannelEvent, recipients: ReadonlyMap<string, number>): void;
}

/** The hub's observers, shared by its parts. Costs nothing on the hot paths while none is registered. */
export class Observers {
  readonly #all: HubObserver[] = [];
  readonly #authorizers: HubObserver[] = [];
  readonly #openers: HubObserver[] = [];
  readonly #connectors: HubObserver[] = [];
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  add(observer: HubObserver): void {
    this.#all.push(observer);
    if (observer.authorize) this.#authorizers.push(observer);
    if (observer.sessionOpening) this.#openers.push(observer);
    if (observer.connecting) this.#connectors.push(observer);
  }

  /** Whether anyone listens (checked before building what a hook would be handed). */
  get any(): boolean {
    return this.#all.length > 0;
  }

  notify(call: (observer: HubObserver) => void): void {
    for (const observer of this.#all) {
      try {
        call(observer);
      } catch (error) {
        this.#logger.error({ err: error }, 'hub observer failed');
      }
    }
  }

  /** Whether any observer may refuse actions: callers build an action only then (the publish path). */
  get authorizing(): boolean {
    return this.#authorizers.length > 0;
  }

  /** Tells those who read ahead that `principal` is connecting (no closure per connect: the connect path). */
  connecting(principal: Principal): void {
    for (const observer of this.#connectors) {
      try {
        observer.connecting!(principal);
      } catch (error) {
        this.#logger.error({ err: error }, 'hub observer failed');
      }
    }
  }

  /** Throws the first refusal of a new session (see `sessionOpening`); unlike hooks, never swallowed. */
  admit(session: Session): void {
    for (const observer of this.#openers) observer.sessionOpening!(session);
  }

  /** Resolves when every observer allows the action; rejects with the first refusal. */
  async authorize(action: HubAction): Promise<void> {
    for (const observer of this.#authorizers) await observer.authorize!(action);
  }
}
