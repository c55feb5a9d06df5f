// k6 delivery: every update comes back as the bot's reply, recorded by the sandbox (GET /sandbox/calls).
import { optionsFor, profile } from './lib/profiles.ts';
import { requireHealthy } from './lib/requests.ts';
import { deliveryScenario } from './scenarios/delivery.ts';

export const options = optionsFor('delivery');
export const delivery = deliveryScenario(profile('delivery').chats);
export const setup = requireHealthy;
