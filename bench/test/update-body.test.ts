import { describe, expect, it } from 'vitest';
import { chatLaneOf, type TelegramUpdate } from '@telegram-receiver/core';
import { updateBodyFactory } from '../lib/update-body.ts';

describe('updateBodyFactory', () => {
  it('should build ~400-byte message updates with consecutive update_ids', () => {
    const body = updateBodyFactory({ firstUpdateId: 7000 });
    for (const i of [0, 1, 999, 123_456]) {
      const text = body(i);
      expect(text.length).toBeGreaterThan(350);
      expect(text.length).toBeLessThan(500);
      const update = JSON.parse(text) as TelegramUpdate;
      expect(update.update_id).toBe(7000 + i);
      expect(update.message?.text).toMatch(/^Please look/);
      expect(chatLaneOf(update)).toMatch(/^chat:\d+$/);
    }
  });

  it('should spread consecutive requests over distinct chats', () => {
    const body = updateBodyFactory({ firstUpdateId: 1, chats: 10_000 });
    const chats = new Set(
      Array.from({ length: 1000 }, (_, i) => chatLaneOf(JSON.parse(body(i)) as TelegramUpdate)),
    );
    expect(chats.size).toBe(1000);
    const few = updateBodyFactory({ firstUpdateId: 1, chats: 7 });
    const sevens = new Set(
      Array.from({ length: 100 }, (_, i) => chatLaneOf(JSON.parse(few(i)) as TelegramUpdate)),
    );
    expect(sevens.size).toBe(7);
  });
});
