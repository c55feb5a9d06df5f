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

// k6/spike.ts
var options = optionsFor("spike");
var webhook = webhookScenario(profile("spike").chats);
var setup = requireHealthy;
export {
  callback,
  health,
  options,
  setup,
  webhook
};
