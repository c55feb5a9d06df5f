// Generated from k6/ by scripts/k6-bundle.ts (make k6-bundle); do not edit.
import {
  SANDBOX_URL,
  chatOf,
  optionsFor,
  postUpdate,
  profile,
  requireHealthy,
  updateBody
} from "./shared-MMMLZ6XG.js";

// k6/scenarios/delivery.ts
import { check, sleep } from "k6";
import exec from "k6/execution";
import http from "k6/http";

// k6/lib/metrics.ts
import { Rate, Trend } from "k6/metrics";
var deliveryDuration = new Trend("telegram_receiver_delivery_duration", true);
var delivered = new Rate("telegram_receiver_delivered");

// k6/scenarios/delivery.ts
var DEADLINE_MS = 1e4;
function deliveryScenario(chats) {
  return () => {
    const i = exec.scenario.iterationInTest;
    const chatId = chatOf(i, chats);
    const sentAt = Date.now();
    if (!postUpdate(updateBody("text", i, chatId))) {
      delivered.add(false);
      return;
    }
    let reply;
    while (reply === void 0 && Date.now() - sentAt < DEADLINE_MS) {
      const res = http.get(
        `${SANDBOX_URL}/sandbox/calls?service=telegram&method=sendMessage&chat_id=${chatId}`,
        {
          tags: { name: "sandbox-calls" }
        }
      );
      const calls = res.status === 200 ? res.json("calls") : [];
      reply = calls[0];
      if (reply === void 0) sleep(0.05);
    }
    delivered.add(reply !== void 0);
    check(reply, { "reply delivered to the chat": (r) => r !== void 0 });
    if (reply !== void 0) deliveryDuration.add(reply.at - sentAt);
  };
}

// k6/delivery.ts
var options = optionsFor("delivery");
var delivery = deliveryScenario(profile("delivery").chats);
var setup = requireHealthy;
export {
  delivery,
  options,
  setup
};
