// Generated from k6/ by scripts/k6-bundle.ts (make k6-bundle); do not edit.
import {
  RUN_BASE,
  chatOf,
  getHealth,
  kindOf,
  postCallback,
  postUpdate,
  updateBody
} from "./shared-MMMLZ6XG.js";

// k6/scenarios/webhook.ts
import exec from "k6/execution";
function webhookScenario(chats) {
  return () => {
    const i = exec.scenario.iterationInTest;
    postUpdate(updateBody(kindOf(i), i, chatOf(i, chats)));
  };
}

// k6/scenarios/callback.ts
import exec2 from "k6/execution";
function callback() {
  postCallback(`k6-${RUN_BASE}-${exec2.scenario.iterationInTest}`);
}

// k6/scenarios/health.ts
function health() {
  getHealth();
}

export {
  webhookScenario,
  callback,
  health
};
