// The calls every scenario makes, each with its check (a threshold on `checks` makes them count).
import { check, fail } from 'k6';
import http from 'k6/http';
import { BASE_URL, CALLBACK_SECRET, TELEGRAM_SECRET } from './env.ts';

export function postUpdate(body: string): boolean {
  const res = http.post(`${BASE_URL}/telegram/webhook`, body, {
    headers: { 'Content-Type': 'application/json', 'X-Telegram-Bot-Api-Secret-Token': TELEGRAM_SECRET },
    tags: { name: 'webhook' },
  });
  return check(res, { 'webhook answered 200': r => r.status === 200 });
}

/** A cursor-runner result for a request nobody waits for: stored once, answered 200. */
export function postCallback(requestId: string): boolean {
  const body = JSON.stringify({
    requestId,
    success: true,
    output: 'Done: the retry budget was exhausted by a loop.',
  });
  const res = http.post(`${BASE_URL}/cursor-runner/callback`, body, {
    headers: { 'Content-Type': 'application/json', 'X-Webhook-Secret': CALLBACK_SECRET },
    tags: { name: 'callback' },
  });
  return check(res, { 'callback answered 200': r => r.status === 200 });
}

export function getHealth(): boolean {
  const res = http.get(`${BASE_URL}/health`, { tags: { name: 'health' } });
  return check(res, { 'health answered 200': r => r.status === 200 });
}

/** setup(): fail fast when the target is not healthy, rather than measure a dead service. */
export function requireHealthy(): void {
  const res = http.get(`${BASE_URL}/ready`);
  if (res.status !== 200) fail(`${BASE_URL}/ready answered ${res.status}: not starting the load`);
}
