import { describe, expect, it } from 'vitest';
import { createLogger } from '@telegram-receiver/core';
import { SandboxState } from '../src/sandbox-state.ts';
import type { SandboxCall } from '../src/types.ts';

function newState(maxRecordedCalls = 100) {
  return new SandboxState({
    webhookSecret: undefined,
    defaultCallbackUrl: undefined,
    cursorDelayMs: 0,
    elevenLabsApiKey: undefined,
    elevenLabsConcurrency: 1,
    maxRecordedCalls,
    logger: createLogger({ service: 'test', level: 'silent', destination: { write: () => undefined } }),
  });
}

function call(seq: number, over: Partial<SandboxCall> = {}): SandboxCall {
  return {
    seq,
    at: 1000 + seq,
    service: 'telegram',
    method: 'sendMessage',
    chatId: seq % 2 === 0 ? 2 : 1,
    query: {},
    headers: { 'content-type': 'application/json' },
    body: { text: `m${seq}`, nested: { quote: '"\u2028</script>' } },
    status: 200,
    ...over,
  };
}

describe('SandboxState.record', () => {
  it('should list calls in arrival order even when they finish out of order', () => {
    const state = newState();
    for (const seq of [1, 3, 2, 6, 4, 5, 7]) state.record(call(seq));
    expect(state.calls().map(c => c.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(state.callCount).toBe(7);
  });

  it('should keep only the newest maxRecordedCalls calls', () => {
    const state = newState(3);
    for (let seq = 1; seq <= 5; seq++) state.record(call(seq));
    expect(state.calls().map(c => c.seq)).toEqual([3, 4, 5]);
  });

  it('should hand out a copy that callers may change', () => {
    const state = newState();
    state.record(call(1));
    state.calls().pop();
    expect(state.callCount).toBe(1);
  });
});

describe('SandboxState.callsJson', () => {
  it('should write exactly what JSON.stringify writes, filtered like calls()', () => {
    const state = newState();
    for (const seq of [2, 1, 3, 4]) {
      state.record(call(seq, seq === 4 ? { service: 'cursor-runner', method: 'iterate-async' } : {}));
    }
    for (const filter of [
      {},
      { service: 'telegram' as const },
      { method: 'SENDMESSAGE' },
      { chatId: 2 },
      { service: 'elevenlabs' as const },
    ]) {
      expect(state.callsJson(filter)).toBe(
        JSON.stringify({ calls: state.calls(filter), recorded: state.recordedCount }),
      );
    }
  });

  it('should list the calls recorded since the last listing, and none after clearCalls', () => {
    const state = newState();
    state.record(call(1));
    expect(JSON.parse(state.callsJson()).calls).toHaveLength(1);
    state.record(call(2));
    expect(JSON.parse(state.callsJson()).calls.map((c: SandboxCall) => c.seq)).toEqual([1, 2]);
    state.clearCalls();
    expect(state.callsJson()).toBe('{"calls":[],"recorded":2}');
  });

  it('should list a call that ended after a later one since the cursor, in seq order', () => {
    const state = newState();
    state.record(call(2));
    const { recorded } = JSON.parse(state.callsJson()) as { recorded: number };
    // seq 1 arrived first but ended last: a seq cursor (after 2) would never list it.
    state.record(call(1));
    state.record(call(3));
    expect(state.calls({ recordedAfter: recorded }).map(c => c.seq)).toEqual([1, 3]);
    expect(state.calls({ recordedAfter: recorded + 2 })).toEqual([]);
  });
});
