// Generated from k6/ by scripts/k6-bundle.ts (make k6-bundle); do not edit.

// k6/profiles.json
var profiles_default = {
  $comment: "Load profiles and thresholds, the one source for k6's options (k6/lib/profiles.ts) and our own open-loop generator (bench/load-smoke.ts). Threshold expressions use k6's syntax; durations are k6 duration strings. The seed's webhook target is p95 < 200 ms; ours are stricter (p95 < 50 ms at average load). Delivery is update sent -> the reply's sendMessage recorded by the sandbox. Replies leave at most ~30 messages/s per bot (Telegram's pacing), so profiles that check delivery stay below that rate; stress, spike and soak check the webhook only.",
  profiles: {
    smoke: {
      description: "A few updates a second for a short while: does everything answer, and is every reply delivered?",
      chats: 1e6,
      scenarios: {
        webhook: {
          executor: "constant-arrival-rate",
          rate: 20,
          timeUnit: "1s",
          duration: "10s",
          preAllocatedVUs: 4,
          maxVUs: 20
        },
        callback: {
          executor: "constant-arrival-rate",
          rate: 2,
          timeUnit: "1s",
          duration: "10s",
          preAllocatedVUs: 1,
          maxVUs: 4
        },
        health: {
          executor: "constant-arrival-rate",
          rate: 1,
          timeUnit: "1s",
          duration: "10s",
          preAllocatedVUs: 1,
          maxVUs: 2
        }
      },
      thresholds: {
        "http_req_duration{scenario:webhook}": ["p(95)<200", "p(99)<500"],
        "http_req_failed{scenario:webhook}": ["rate<0.01"],
        "checks{scenario:webhook}": ["rate>0.99"],
        "http_req_duration{scenario:callback}": ["p(95)<200"],
        "checks{scenario:callback}": ["rate>0.99"],
        "checks{scenario:health}": ["rate==1"],
        telegram_receiver_delivery_duration: ["p(95)<1000"],
        telegram_receiver_delivered: ["rate>0.99"]
      }
    },
    "average-load": {
      description: "A busy bot's typical hour: ramp up over ~10 % of the run (time to warm up or scale), hold, ramp down; below the per-bot reply pacing so every reply can be delivered.",
      chats: 1e6,
      scenarios: {
        webhook: {
          executor: "ramping-arrival-rate",
          startRate: 2,
          timeUnit: "1s",
          preAllocatedVUs: 5,
          maxVUs: 50,
          stages: [
            {
              target: 25,
              duration: "2s"
            },
            {
              target: 25,
              duration: "15s"
            },
            {
              target: 0,
              duration: "2s"
            }
          ]
        },
        callback: {
          executor: "constant-arrival-rate",
          rate: 5,
          timeUnit: "1s",
          duration: "19s",
          preAllocatedVUs: 2,
          maxVUs: 10
        }
      },
      thresholds: {
        "http_req_duration{scenario:webhook}": ["p(95)<200", "p(95)<50", "p(99)<250"],
        "http_req_failed{scenario:webhook}": ["rate<0.01"],
        "checks{scenario:webhook}": ["rate>0.99"],
        "http_req_duration{scenario:callback}": ["p(95)<100"],
        "checks{scenario:callback}": ["rate>0.99"],
        telegram_receiver_delivery_duration: ["p(95)<1500"],
        telegram_receiver_delivered: ["rate>0.99"]
      }
    },
    stress: {
      description: "Above the expected peak, in steps: where does latency bend and do errors stay at zero?",
      chats: 1e6,
      scenarios: {
        webhook: {
          executor: "ramping-arrival-rate",
          startRate: 100,
          timeUnit: "1s",
          preAllocatedVUs: 50,
          maxVUs: 500,
          stages: [
            {
              target: 1e3,
              duration: "1m"
            },
            {
              target: 1e3,
              duration: "3m"
            },
            {
              target: 2e3,
              duration: "1m"
            },
            {
              target: 2e3,
              duration: "3m"
            },
            {
              target: 0,
              duration: "1m"
            }
          ]
        }
      },
      thresholds: {
        "http_req_duration{scenario:webhook}": ["p(95)<200", "p(99)<1000"],
        "http_req_failed{scenario:webhook}": ["rate<0.01"],
        "checks{scenario:webhook}": ["rate>0.99"]
      }
    },
    spike: {
      description: "From quiet to a burst (a bot goes viral) and back: Telegram-style bursts must not lose updates.",
      chats: 1e6,
      scenarios: {
        webhook: {
          executor: "ramping-arrival-rate",
          startRate: 10,
          timeUnit: "1s",
          preAllocatedVUs: 50,
          maxVUs: 1e3,
          stages: [
            {
              target: 10,
              duration: "30s"
            },
            {
              target: 3e3,
              duration: "10s"
            },
            {
              target: 3e3,
              duration: "1m"
            },
            {
              target: 10,
              duration: "10s"
            },
            {
              target: 10,
              duration: "1m"
            }
          ]
        }
      },
      thresholds: {
        "http_req_duration{scenario:webhook}": ["p(95)<200", "p(99)<2000"],
        "http_req_failed{scenario:webhook}": ["rate<0.01"],
        "checks{scenario:webhook}": ["rate>0.99"]
      }
    },
    soak: {
      description: "Average load for hours: memory, connections and Redis must stay flat.",
      chats: 1e6,
      scenarios: {
        webhook: {
          executor: "ramping-arrival-rate",
          startRate: 10,
          timeUnit: "1s",
          preAllocatedVUs: 20,
          maxVUs: 200,
          stages: [
            {
              target: 200,
              duration: "5m"
            },
            {
              target: 200,
              duration: "4h"
            },
            {
              target: 0,
              duration: "5m"
            }
          ]
        },
        health: {
          executor: "constant-arrival-rate",
          rate: 1,
          timeUnit: "10s",
          duration: "4h10m",
          preAllocatedVUs: 1,
          maxVUs: 2
        }
      },
      thresholds: {
        "http_req_duration{scenario:webhook}": ["p(95)<200", "p(95)<50", "p(99)<250"],
        "http_req_failed{scenario:webhook}": ["rate<0.001"],
        "checks{scenario:webhook}": ["rate>0.999"],
        "checks{scenario:health}": ["rate==1"]
      }
    },
    delivery: {
      description: "End to end through the sandbox: each update, from its own chat, must come back as a sendMessage to that chat.",
      chats: 1e6,
      scenarios: {
        delivery: {
          executor: "constant-arrival-rate",
          rate: 5,
          timeUnit: "1s",
          duration: "10s",
          preAllocatedVUs: 10,
          maxVUs: 50
        }
      },
      thresholds: {
        telegram_receiver_delivery_duration: ["p(95)<2000"],
        telegram_receiver_delivered: ["rate==1"],
        "checks{scenario:delivery}": ["rate==1"]
      }
    }
  }
};

// k6/lib/profiles.ts
function profile(name) {
  return profiles_default.profiles[name];
}
function optionsFor(name) {
  const p = profile(name);
  const scenarios = {};
  for (const [id, s] of Object.entries(p.scenarios)) scenarios[id] = { ...s, exec: id };
  return {
    scenarios,
    thresholds: p.thresholds,
    // The summary names each scenario's numbers; no external jslib is needed (the cluster may be offline).
    summaryTrendStats: ["avg", "med", "p(95)", "p(99)", "max"]
  };
}

// k6/lib/requests.ts
import { check, fail } from "k6";
import http from "k6/http";

// k6/lib/env.ts
var env = __ENV;
var BASE_URL = (env.BASE_URL ?? "http://127.0.0.1:3000").replace(/\/$/, "");
var SANDBOX_URL = (env.SANDBOX_URL ?? "http://127.0.0.1:3900").replace(/\/$/, "");
var TELEGRAM_SECRET = env.TELEGRAM_WEBHOOK_SECRET ?? "dev-webhook-secret";
var CALLBACK_SECRET = env.WEBHOOK_SECRET ?? "dev-callback-secret";

// k6/lib/requests.ts
function postUpdate(body) {
  const res = http.post(`${BASE_URL}/telegram/webhook`, body, {
    headers: { "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET },
    tags: { name: "webhook" }
  });
  return check(res, { "webhook answered 200": (r) => r.status === 200 });
}
function postCallback(requestId) {
  const body = JSON.stringify({
    requestId,
    success: true,
    output: "Done: the retry budget was exhausted by a loop."
  });
  const res = http.post(`${BASE_URL}/cursor-runner/callback`, body, {
    headers: { "Content-Type": "application/json", "X-Webhook-Secret": CALLBACK_SECRET },
    tags: { name: "callback" }
  });
  return check(res, { "callback answered 200": (r) => r.status === 200 });
}
function getHealth() {
  const res = http.get(`${BASE_URL}/health`, { tags: { name: "health" } });
  return check(res, { "health answered 200": (r) => r.status === 200 });
}
function requireHealthy() {
  const res = http.get(`${BASE_URL}/ready`);
  if (res.status !== 200) fail(`${BASE_URL}/ready answered ${res.status}: not starting the load`);
}

// k6/lib/updates.ts
var RUN_BASE = Math.floor(Date.now() / 1e3) % 1e6;
var TEXT = "Please look at the failing test in the payments service and explain why the retry budget is exhausted";
function person(chatId) {
  return {
    id: chatId,
    is_bot: false,
    first_name: "Load",
    last_name: "Test",
    username: `k6_user_${chatId}`,
    language_code: "en"
  };
}
function chat(chatId) {
  return {
    id: chatId,
    first_name: "Load",
    last_name: "Test",
    username: `k6_user_${chatId}`,
    type: "private"
  };
}
function updateId(iteration) {
  return RUN_BASE * 1e7 + iteration;
}
function chatOf(iteration, chats) {
  return 3e8 + (RUN_BASE * 7919 + iteration * 104729) % chats;
}
function kindOf(iteration) {
  const r = iteration % 20;
  return r === 0 ? "voice" : r === 1 ? "callback_query" : "text";
}
function updateBody(kind, iteration, chatId) {
  const date = Math.floor(Date.now() / 1e3);
  const message = { message_id: iteration % 1e6 + 1, from: person(chatId), chat: chat(chatId), date };
  if (kind === "voice") {
    return JSON.stringify({
      update_id: updateId(iteration),
      message: {
        ...message,
        voice: {
          duration: 3,
          mime_type: "audio/ogg",
          file_id: `k6-voice-${iteration}`,
          file_unique_id: `k6v${iteration}`,
          file_size: 9e3
        }
      }
    });
  }
  if (kind === "callback_query") {
    return JSON.stringify({
      update_id: updateId(iteration),
      callback_query: {
        id: `${RUN_BASE}${iteration}`,
        from: person(chatId),
        message: { ...message, text: "Choose an option" },
        chat_instance: `-${chatId}`,
        data: "k6:noop"
      }
    });
  }
  return JSON.stringify({
    update_id: updateId(iteration),
    message: { ...message, text: `${TEXT} #${iteration}` }
  });
}

export {
  profile,
  optionsFor,
  SANDBOX_URL,
  postUpdate,
  postCallback,
  getHealth,
  requireHealthy,
  RUN_BASE,
  chatOf,
  kindOf,
  updateBody
};
