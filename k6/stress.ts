// k6 stress: the 'stress' profile of profiles.json (scenarios and thresholds).
import { optionsFor, profile } from './lib/profiles.ts';
import { requireHealthy } from './lib/requests.ts';
import { webhookScenario } from './scenarios/webhook.ts';

export const options = optionsFor('stress');
export const webhook = webhookScenario(profile('stress').chats);
export { callback } from './scenarios/callback.ts';
export { health } from './scenarios/health.ts';
export const setup = requireHealthy;
