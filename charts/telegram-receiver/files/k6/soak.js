// Generated from k6/ by scripts/k6-bundle.ts (make k6-bundle); do not edit.
import {
  callback,
  health,
  webhookScenario
} from "./shared-V6FGDIID.js";
import {
  optionsFor,
  profile,
  requireHealthy
} from "./shared-MMMLZ6XG.js";

// k6/soak.ts
var options = optionsFor("soak");
var webhook = webhookScenario(profile("soak").chats);
var setup = requireHealthy;
export {
  callback,
  health,
  options,
  setup,
  webhook
};
