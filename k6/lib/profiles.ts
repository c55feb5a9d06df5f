// The profiles of k6/profiles.json as k6 options: every scenario gets `exec` = its own name, so an
// entry point exports one function per scenario (webhook, callback, health, delivery).
import type { Options, Scenario } from 'k6/options';
import data from '../profiles.json';

export type ProfileName = keyof typeof data.profiles;

/** One profile: scenarios in k6's shape (without `exec`) and thresholds in k6's syntax. */
export interface Profile {
  description: string;
  chats: number;
  scenarios: Record<string, Omit<Scenario, 'exec'>>;
  thresholds: Record<string, string[]>;
}

export function profile(name: ProfileName): Profile {
  return data.profiles[name] as unknown as Profile;
}

/** k6 `options` of a profile, with the same thresholds our own generator enforces. */
export function optionsFor(name: ProfileName): Options {
  const p = profile(name);
  const scenarios: Record<string, Scenario> = {};
  for (const [id, s] of Object.entries(p.scenarios)) scenarios[id] = { ...s, exec: id } as Scenario;
  return {
    scenarios,
    thresholds: p.thresholds,
    // The summary names each scenario's numbers; no external jslib is needed (the cluster may be offline).
    summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max'],
  };
}
