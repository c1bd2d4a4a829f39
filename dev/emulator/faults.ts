/**
 * Fault injection, deterministic for a seed: one draw per Web API request decides whether it is
 * answered 429 or 503, has its connection dropped, is slowed down, or (a $batch or bulk message) is Server Busy.
 */
import type { ResolvedEmulatorOptions } from './options';
import { seededRandom } from '../seededRandom';

export type Fault = 'none' | '429' | '503' | 'drop' | 'slow' | 'serverBusy';

export interface FaultInjector {
  next(): Fault;
  reseed(seed: number): void;
}

export function createFaultInjector(faults: () => ResolvedEmulatorOptions['faults']): FaultInjector {
  let random = seededRandom(faults().seed);
  return {
    next() {
      const f = faults();
      if (f.rate429 + f.rate503 + f.rateDrop + f.rateSlow + f.rateServerBusy === 0) return 'none';
      const r = random();
      let edge = f.rate429;
      if (r < edge) return '429';
      if (r < (edge += f.rate503)) return '503';
      if (r < (edge += f.rateDrop)) return 'drop';
      if (r < (edge += f.rateSlow)) return 'slow';
      if (r < edge + f.rateServerBusy) return 'serverBusy';
      return 'none';
    },
    reseed(seed) {
      random = seededRandom(seed);
    },
  };
}
