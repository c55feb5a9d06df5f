// Generated from k6/ by scripts/k6-bundle.ts (make k6-bundle); do not edit.
import {
  callback,
  health,
  webhookScenario
} from "./shared-RVG224QY.js";
import {
  optionsFor,
  profile,
  requireHealthy
} from "./shared-NLNMK56M.js";

// k6/smoke.ts
var options = optionsFor("smoke");
var webhook = webhookScenario(profile("smoke").chats);
var setup = requireHealthy;
export {
  callback,
  health,
  options,
  setup,
  webhook
};
