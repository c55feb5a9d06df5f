// k6 soak: the 'soak' profile of profiles.json (scenarios and thresholds).
import { optionsFor, profile } from './lib/profiles.ts';
import { requireHealthy } from './lib/requests.ts';
import { webhookScenario } from './scenarios/webhook.ts';

export const options = optionsFor('soak');
export const webhook = webhookScenario(profile('soak').chats);
export { callback } from './scenarios/callback.ts';
export { health } from './scenarios/health.ts';
export const setup = requireHealthy;
