/**
 * Several application users for one environment (issue 17). Service protection limits are per user, so each
 * identity is a lane with its own token source, its own concurrency (from its own `x-ms-dop-hint`, adapted to its
 * own 429s), its own Retry-After pause and its own request spacing: a throttled identity pauses only itself.
 * Each attempt of a request goes to the identity with the most headroom; an identity whose credentials fail leaves
 * the rotation. With one identity the pool is the single-user client it always was.
 */
import type { AccessTokenSource } from './auth/accessTokenSource';
import { AdaptiveConcurrency, RequestSpacing, ThrottlePause, type Clock, type ConcurrencySnapshot } from './throttle';

export interface DataverseIdentity {
  /** `default` for the DATAVERSE_AUTH identity; logs and metrics name identities by it (never by a secret). */
  name: string;
  accessTokenSource: AccessTokenSource;
}

export interface IdentityMetrics {
  name: string;
  /** `active`, or `left` once its credentials failed (with the reason). */
  state: 'active' | 'left';
  leftReason?: string;
  requests: number;
  throttled: number;
  pausedMs: number;
  concurrency: ConcurrencySnapshot;
}

export class IdentityLane {
  readonly concurrency: AdaptiveConcurrency;
  readonly pause: ThrottlePause;
  readonly spacing: RequestSpacing;
  leftReason: string | undefined;
  readonly counters = { requests: 0, throttled: 0, pausedMs: 0 };
  /** Calls that chose this identity and have not yet queued for a slot (so calls starting together spread). */
  choosing = 0;

  constructor(
    readonly name: string,
    readonly accessTokenSource: AccessTokenSource,
    clock: Clock,
    maxConcurrency: number,
    initialConcurrency: number,
  ) {
    this.concurrency = new AdaptiveConcurrency(maxConcurrency, initialConcurrency);
    this.pause = new ThrottlePause(clock);
    this.spacing = new RequestSpacing(clock);
  }

  get active(): boolean {
    return this.leftReason === undefined;
  }

  /** Free request slots, less the calls already queued for one (negative when calls queue). */
  headroom(): number {
    const { limit, inFlight } = this.concurrency.snapshot();
    return limit - inFlight - this.concurrency.waiting - this.choosing;
  }

  metrics(): IdentityMetrics {
    return {
      name: this.name,
      state: this.active ? 'active' : 'left',
      ...(this.leftReason !== undefined ? { leftReason: this.leftReason } : {}),
      ...this.counters,
      concurrency: this.concurrency.snapshot(),
    };
  }
}

export class IdentityPool {
  readonly lanes: IdentityLane[];

  constructor(
    identities: readonly DataverseIdentity[],
    clock: Clock,
    maxConcurrency: number,
    initialConcurrency: number,
  ) {
    if (identities.length === 0) throw new Error('IdentityPool: at least one identity is needed');
    this.lanes = identities.map(
      (identity) =>
        new IdentityLane(identity.name, identity.accessTokenSource, clock, maxConcurrency, initialConcurrency),
    );
  }

  /** The identity of work that must stay with one user (impersonation, solution operations): the first. */
  get defaultLane(): IdentityLane {
    return this.lanes[0]!;
  }

  /** Several identities: one whose credentials fail leaves the rotation (one alone keeps its old behaviour). */
  get rotating(): boolean {
    return this.lanes.length > 1;
  }

  /**
   * Where the next attempt goes: among active identities not paused, the one with the most headroom (ties: the one
   * that sent least, so load spreads evenly); when every one is paused, the one whose pause ends first.
   * Undefined when none is left.
   */
  choose(): IdentityLane | undefined {
    const active = this.lanes.filter((lane) => lane.active);
    const ready = active.filter((lane) => lane.pause.remainingMs() === 0);
    const pick = (lanes: IdentityLane[], better: (a: IdentityLane, b: IdentityLane) => boolean) =>
      lanes.reduce<IdentityLane | undefined>((best, lane) => (!best || better(lane, best) ? lane : best), undefined);
    if (ready.length > 0)
      return pick(ready, (a, b) => {
        const byHeadroom = a.headroom() - b.headroom();
        return byHeadroom > 0 || (byHeadroom === 0 && a.counters.requests < b.counters.requests);
      });
    return pick(active, (a, b) => a.pause.remainingMs() < b.pause.remainingMs());
  }

  /** Why no identity is left, naming each and its reason. */
  noneLeftMessage(): string {
    return `Every Dataverse identity left the rotation: ${this.lanes.map((lane) => `'${lane.name}' (${lane.leftReason ?? 'active'})`).join(', ')}`;
  }

  /** Sums over the active identities (what the app as a whole may send now). */
  concurrency(): ConcurrencySnapshot {
    const active = this.lanes.filter((lane) => lane.active);
    const snapshots = (active.length > 0 ? active : [this.defaultLane]).map((lane) => lane.concurrency.snapshot());
    if (snapshots.length === 1) return snapshots[0]!;
    const sum = (of: (s: ConcurrencySnapshot) => number) => snapshots.reduce((total, s) => total + of(s), 0);
    const hints = snapshots.map((s) => s.dopHint).filter((hint): hint is number => hint !== undefined);
    return {
      limit: sum((s) => s.limit),
      inFlight: sum((s) => s.inFlight),
      ceiling: sum((s) => s.ceiling),
      dopHint: hints.length > 0 ? hints.reduce((a, b) => a + b, 0) : undefined,
    };
  }
}
