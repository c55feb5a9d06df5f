import { describe, expect, it } from 'vitest';
import { runLoadSmoke } from '../load-smoke.ts';

describe('runLoadSmoke', () => {
  it('should fail the delivery threshold when the sandbox is deliberately slow', async () => {
    // +1.5 s on every cursor-runner call: each reply comes at least 1.5 s after its update, above the
    // smoke profile's delivery p95 < 1000 ms, while the webhook itself stays fast.
    const [report] = await runLoadSmoke({ profiles: ['smoke'], slowSandboxMs: 1500 });
    const delivery = report!.outcomes.find(o => o.metric === 'telegram_receiver_delivery_duration')!;
    expect(delivery.ok).toBe(false);
    expect(delivery.actual).toBeGreaterThanOrEqual(1500);
    expect(report!.sent).toBe(200);
  }, 120_000);
});
