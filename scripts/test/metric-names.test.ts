// One Prometheus scrapes every service, so a metric name must mean the same thing wherever it is
// exported: `sum(name)` over two meanings is a wrong number that looks right.
import { describe, expect, it } from 'vitest';
import { serviceRegistries } from './service-registries.ts';

/** Name → the services exporting it, with the type and help each gives it. */
async function exports(): Promise<Map<string, { service: string; type: string; help: string }[]>> {
  const byName = new Map<string, { service: string; type: string; help: string }[]>();
  for (const [service, registry] of Object.entries(serviceRegistries())) {
    for (const metric of await registry.getMetricsAsJSON()) {
      const entry = { service, type: String(metric.type), help: metric.help };
      byName.set(metric.name, [...(byName.get(metric.name) ?? []), entry]);
    }
  }
  return byName;
}

describe('the metric names of the gateway, the worker and the metrics service', () => {
  it('should give a name exported by several services the same type and help in each', async () => {
    const shared = [...(await exports())].filter(([, services]) => services.length > 1);
    // Core's client metrics are the shared ones today (the same objects, registered by each service).
    expect(shared.map(([name]) => name)).toContain('telegram_receiver_upstream_throttled_total');
    for (const [name, services] of shared) {
      const [first] = services;
      for (const other of services) {
        expect(
          { type: other.type, help: other.help },
          `${name} in ${other.service} vs ${first?.service}`,
        ).toEqual({
          type: first?.type,
          help: first?.help,
        });
      }
    }
  });

  it("should keep the gateway's admission backlog apart from the metrics service's queue backlog", async () => {
    const byName = await exports();
    const services = (name: string) => byName.get(name)?.map(e => e.service);
    expect(services('telegram_receiver_queue_backlog')).toEqual(['metrics']);
    expect(services('telegram_receiver_gateway_backlog')).toEqual(['gateway']);
  });
});
