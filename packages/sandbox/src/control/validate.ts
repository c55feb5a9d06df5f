import { SANDBOX_SERVICES, type FaultRule, type FileRegistration, type SandboxService } from '../types.ts';

/** A control request that cannot be used; its message says which field and why. */
export class InvalidControlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidControlError';
  }
}

const fail = (message: string): never => {
  throw new InvalidControlError(message);
};

function intIn(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(`${name} must be an integer from ${min} to ${max}`);
  }
  return value as number;
}

function onlyKeys(input: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(input)) {
    if (!allowed.includes(key)) fail(`unknown field "${key}" (allowed: ${allowed.join(', ')})`);
  }
}

const FAULT_TYPES = ['latency', 'status', 'timeout', 'reset', 'html'] as const;
const COMMON_KEYS = ['service', 'method', 'chatId', 'times', 'type'] as const;
const TYPE_KEYS: Record<(typeof FAULT_TYPES)[number], readonly string[]> = {
  latency: ['ms'],
  status: ['status', 'retryAfter', 'code', 'description'],
  timeout: ['ms'],
  reset: [],
  html: ['status'],
};

/** Check a fault rule from the outside world (HTTP or code) before it can affect any call. */
export function validateFaultRule(input: unknown): FaultRule {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    fail('a fault rule must be a JSON object');
  }
  const raw = input as Record<string, unknown>;
  if (!SANDBOX_SERVICES.includes(raw.service as SandboxService)) {
    fail(`service must be one of ${SANDBOX_SERVICES.join(', ')}`);
  }
  const type = raw.type as (typeof FAULT_TYPES)[number];
  if (!FAULT_TYPES.includes(type)) fail(`type must be one of ${FAULT_TYPES.join(', ')}`);
  onlyKeys(raw, [...COMMON_KEYS, ...TYPE_KEYS[type]]);
  const common = {
    service: raw.service as SandboxService,
    ...(raw.method === undefined
      ? {}
      : {
          method:
            typeof raw.method === 'string' && raw.method.length >= 1 && raw.method.length <= 64
              ? raw.method
              : fail('method must be a string of 1 to 64 characters ("*" for any)'),
        }),
    ...(raw.chatId === undefined
      ? {}
      : { chatId: intIn(raw.chatId, 'chatId', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER) }),
    ...(raw.times === undefined ? {} : { times: intIn(raw.times, 'times', 1, 1_000_000) }),
  };
  switch (type) {
    case 'latency':
      return { ...common, type, ms: intIn(raw.ms, 'ms', 0, 600_000) };
    case 'timeout':
      return { ...common, type, ...(raw.ms === undefined ? {} : { ms: intIn(raw.ms, 'ms', 1, 600_000) }) };
    case 'reset':
      return { ...common, type };
    case 'html':
      return { ...common, type, status: intIn(raw.status, 'status', 400, 599) };
    case 'status': {
      const text = (value: unknown, name: string) =>
        typeof value === 'string' && value.length >= 1 && value.length <= 500
          ? value
          : fail(`${name} must be a string of 1 to 500 characters`);
      return {
        ...common,
        type,
        status: intIn(raw.status, 'status', 400, 599),
        ...(raw.retryAfter === undefined ? {} : { retryAfter: intIn(raw.retryAfter, 'retryAfter', 0, 3600) }),
        ...(raw.code === undefined ? {} : { code: text(raw.code, 'code') }),
        ...(raw.description === undefined ? {} : { description: text(raw.description, 'description') }),
      };
    }
  }
}

/** Largest registered file: past Telegram's 20 MB download cap, small enough for a test box. */
export const MAX_REGISTERED_SIZE = 100 * 1024 * 1024;

export function validateFileRegistration(input: unknown): FileRegistration {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    fail('a file must be a JSON object');
  }
  const raw = input as Record<string, unknown>;
  onlyKeys(raw, ['fileId', 'transcript', 'sizeBytes', 'mimeType']);
  if (typeof raw.fileId !== 'string' || !/^[A-Za-z0-9_-]{1,256}$/.test(raw.fileId)) {
    fail('fileId must be 1 to 256 characters of A-Z a-z 0-9 _ -');
  }
  if (
    raw.transcript !== undefined &&
    (typeof raw.transcript !== 'string' || raw.transcript.length > 10_000)
  ) {
    fail('transcript must be a string of at most 10000 characters');
  }
  if (
    raw.mimeType !== undefined &&
    (typeof raw.mimeType !== 'string' || !/^[a-z]+\/[a-z0-9.+-]{1,64}$/.test(raw.mimeType))
  ) {
    fail('mimeType must look like audio/ogg');
  }
  return {
    fileId: raw.fileId as string,
    ...(raw.transcript === undefined ? {} : { transcript: raw.transcript as string }),
    ...(raw.sizeBytes === undefined
      ? {}
      : { sizeBytes: intIn(raw.sizeBytes, 'sizeBytes', 1, MAX_REGISTERED_SIZE) }),
    ...(raw.mimeType === undefined ? {} : { mimeType: raw.mimeType as string }),
  };
}
