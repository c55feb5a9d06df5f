// A bots file rotated under a running gateway process while updates flow: the new secret takes
// over, the old one keeps working for the overlap (no 401, nothing lost), and a broken file is
// refused with the rotated bots kept in force.
import { mkdtemp, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { updateJobId } from '@telegram-receiver/core';
import { RedisServer, randomName, waitFor } from '@telegram-receiver/testing';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayProcess } from './gateway-process.ts';
import { messageUpdate } from './harness.ts';

const OLD = {
  name: 'alpha',
  token: '555555:old-rotation-token-aaaaaaaaaaaa',
  webhookSecret: 'old_rotation_secret_1',
};
const NEW = {
  name: 'alpha',
  token: '555555:new-rotation-token-bbbbbbbbbbbb',
  webhookSecret: 'new_rotation_secret_2',
};

let server: RedisServer;
let probe: Redis;
beforeAll(async () => {
  server = await RedisServer.start();
  probe = new Redis(server.url);
});
afterAll(async () => {
  probe.disconnect();
  await server.close();
});

/** Replace the file the way a Secret volume does: write aside, then rename over it. */
async function replace(file: string, text: string): Promise<void> {
  const aside = `${file}.${randomName('tmp')}`;
  await writeFile(aside, text);
  await rename(aside, file);
}

describe('gateway with a rotated BOTS_FILE', () => {
  it(
    'should accept old and new secrets during the overlap, lose nothing, and refuse a broken file',
    { timeout: 120_000 },
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'tr-rotation-'));
      const file = join(dir, 'bots.json');
      await writeFile(file, JSON.stringify([OLD]));
      const prefix = randomName('rot');
      const { service: gateway, url } = await startGatewayProcess(server, {
        QUEUE_PREFIX: prefix,
        BOTS_FILE: file,
        BOTS_FILE_RELOAD_MS: '100',
        BOTS_SECRET_OVERLAP_SECONDS: '600',
      });
      let nextId = 1;
      const send = async (secret: string) => {
        const id = nextId++;
        const res = await request(`${url}/telegram/webhook`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
          body: JSON.stringify(messageUpdate(id, 7000 + (id % 13))),
        });
        await res.body.dump();
        return {
          id,
          status: res.statusCode,
          secret: secret === OLD.webhookSecret ? ('old' as const) : ('new' as const),
        };
      };
      try {
        const answers: { id: number; status: number; secret: 'old' | 'new' }[] = [];
        for (let i = 0; i < 20; i++) answers.push(await send(OLD.webhookSecret));
        await replace(file, JSON.stringify([NEW]));
        // Updates keep flowing with the old secret (Telegram's, until set_webhook runs) until the new one works.
        await waitFor(
          async () => {
            answers.push(await send(OLD.webhookSecret));
            const probeNew = await send(NEW.webhookSecret);
            answers.push(probeNew);
            return probeNew.status === 200;
          },
          { timeoutMs: 30_000 },
        );
        for (let i = 0; i < 20; i++) {
          answers.push(await send(OLD.webhookSecret));
          answers.push(await send(NEW.webhookSecret));
        }
        // A broken file is refused: both secrets keep working.
        await replace(file, '[{"name": "alpha", "token": ');
        await waitFor(() => gateway.lines.some(l => l.includes('invalid; refused')), { timeoutMs: 30_000 });
        answers.push(await send(NEW.webhookSecret), await send(OLD.webhookSecret));

        // The old secret never got a 401 (before, during and after the reload); the new one only
        // until the reload, and never again after its first 200.
        expect(answers.filter(a => a.secret === 'old' && a.status !== 200)).toEqual([]);
        const firstNew = answers.findIndex(a => a.secret === 'new' && a.status === 200);
        expect(answers.slice(0, firstNew).every(a => a.secret === 'old' || a.status === 401)).toBe(true);
        expect(answers.slice(firstNew).filter(a => a.status !== 200)).toEqual([]);
        const accepted = answers.filter(a => a.status === 200);
        const stored = await probe.exists(
          ...accepted.map(a => `${prefix}:updates:${updateJobId('alpha', a.id)}`),
        );
        expect(stored).toBe(accepted.length);
        const logged = gateway.lines.join('\n');
        for (const secret of [OLD.token, NEW.token, OLD.webhookSecret, NEW.webhookSecret]) {
          expect(logged).not.toContain(secret);
        }
        expect(logged).toContain('reloaded');
      } finally {
        await gateway.stop();
      }
    },
  );
});
