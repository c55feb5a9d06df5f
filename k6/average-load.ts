// k6 average-load: the 'average-load' profile of profiles.json (scenarios and thresholds).
import { optionsFor, profile } from './lib/profiles.ts';
import { requireHealthy } from './lib/requests.ts';
import { webhookScenario } from './scenarios/webhook.ts';

export const options = optionsFor('average-load');
export const webhook = webhookScenario(profile('average-load').chats);
export { callback } from './scenarios/callback.ts';
export { health } from './scenarios/health.ts';
export const setup = requireHealthy;
