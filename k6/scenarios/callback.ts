import exec from 'k6/execution';
import { postCallback } from '../lib/requests.ts';
import { RUN_BASE } from '../lib/updates.ts';

/** cursor-runner results arriving at the callback path. */
export function callback(): void {
  postCallback(`k6-${RUN_BASE}-${exec.scenario.iterationInTest}`);
}
