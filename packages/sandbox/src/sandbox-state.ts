import { createHash } from 'node:crypto';
import type { Logger } from '@telegram-receiver/core';
import { buildMp3 } from './audio/mp3.ts';
import { buildOpusVoice, TRANSCRIPT_TAG } from './audio/opus.ts';
import type { CallFilter, FaultRule, FileRegistration, SandboxCall, SandboxService } from './types.ts';

/** A file getFile and the download know about. */
export interface StoredFile {
  fileId: string;
  fileUniqueId: string;
  filePath: string;
  mimeType: string;
  transcript: string | undefined;
  /** What getFile reports and the download serves. */
  sizeBytes: number;
  /** Bytes of an uploaded file, or of a generated one at its natural size. */
  bytes: Buffer;
}

/** A bot's webhook as setWebhook stored it. */
export interface StoredWebhook {
  url: string;
  secretToken: string | undefined;
  maxConnections: number;
  allowedUpdates: string[] | undefined;
  ipAddress: string | undefined;
}

/** Options after defaults. */
export interface ResolvedSandboxOptions {
  webhookSecret: string | undefined;
  defaultCallbackUrl: string | undefined;
  cursorDelayMs: number;
  elevenLabsApiKey: string | undefined;
  elevenLabsConcurrency: number;
  maxRecordedCalls: number;
  logger: Logger;
}

interface ActiveFault {
  rule: FaultRule;
  left: number;
}

/** What the fault rules say about one call. */
export interface FaultDecision {
  /** Sum of the matching latency rules. */
  latencyMs: number;
  /** The first matching rule that answers instead of the service (status, html, timeout, reset). */
  terminal: Exclude<FaultRule, { type: 'latency' }> | undefined;
}

const EXTENSIONS: Record<string, string> = {
  'audio/ogg': 'oga',
  'audio/opus': 'opus',
  'audio/mpeg': 'mp3',
  'audio/mp4': 'm4a',
  'audio/wav': 'wav',
  'application/pdf': 'pdf',
  'text/plain': 'txt',
};

/**
 * Everything the sandbox remembers: recorded calls, fault rules, files, webhooks, message ids, and
 * the timers it must cancel on close. One instance per running sandbox; no globals.
 */
export class SandboxState {
  readonly options: ResolvedSandboxOptions;
  #seq = 0;
  #calls: SandboxCall[] = [];
  /** Calls recorded so far (never reset): the cursor of `recordedAfter`. */
  #recorded = 0;
  readonly #recordNo = new WeakMap<SandboxCall, number>();
  /** Recorded calls never change: each one's JSON is made once, when first listed. */
  readonly #json = new WeakMap<SandboxCall, string>();
  #faults: ActiveFault[] = [];
  #files = new Map<string, StoredFile>();
  #filesByPath = new Map<string, StoredFile>();
  #fileCounter = 0;
  #messageIds = new Map<string, number>();
  readonly webhooks = new Map<string, StoredWebhook>();
  /** Requests a timeout fault is holding right now. */
  heldRequests = 0;
  readonly #cancels = new Set<() => void>();
  readonly #tasks = new Set<Promise<void>>();
  #closed = false;

  constructor(options: ResolvedSandboxOptions) {
    this.options = options;
  }

  get closed(): boolean {
    return this.#closed;
  }

  nextSeq(): number {
    return ++this.#seq;
  }

  /** Record a call. Calls stay in `seq` order (arrival), whatever order they finish in. */
  record(call: SandboxCall): void {
    this.#recordNo.set(call, ++this.#recorded);
    const calls = this.#calls;
    // Calls mostly finish in arrival order: walk back only past the few that overtook this one.
    let at = calls.length;
    while (at > 0 && (calls[at - 1]?.seq ?? 0) > call.seq) at--;
    if (at === calls.length) calls.push(call);
    else calls.splice(at, 0, call);
    if (calls.length > this.options.maxRecordedCalls) {
      calls.splice(0, calls.length - this.options.maxRecordedCalls);
    }
  }

  /** How many calls were ever recorded (a `recordedAfter` cursor). */
  get recordedCount(): number {
    return this.#recorded;
  }

  /** How many calls are recorded. */
  get callCount(): number {
    return this.#calls.length;
  }

  calls(filter: CallFilter = {}): SandboxCall[] {
    const method = filter.method?.toLowerCase();
    const after = filter.recordedAfter;
    const recorded =
      after === undefined ? this.#calls : this.#calls.filter(c => (this.#recordNo.get(c) ?? 0) > after);
    if (filter.service === undefined && method === undefined && filter.chatId === undefined) {
      return [...recorded];
    }
    return recorded.filter(
      c =>
        (filter.service === undefined || c.service === filter.service) &&
        (method === undefined || c.method.toLowerCase() === method) &&
        (filter.chatId === undefined || c.chatId === filter.chatId),
    );
  }

  /**
   * `{"calls":[…],"recorded":N}` as `JSON.stringify` writes it, from each call's JSON made once: pollers that
   * list thousands of calls again and again only pay for the calls recorded since.
   */
  callsJson(filter: CallFilter = {}): string {
    const parts = this.calls(filter).map(call => {
      let json = this.#json.get(call);
      if (json === undefined) {
        json = JSON.stringify(call);
        this.#json.set(call, json);
      }
      return json;
    });
    return `{"calls":[${parts.join(',')}],"recorded":${this.#recorded}}`;
  }

  clearCalls(): void {
    this.#calls = [];
  }

  addFault(rule: FaultRule): void {
    this.#faults.push({ rule, left: rule.times ?? Number.POSITIVE_INFINITY });
  }

  clearFaults(): void {
    this.#faults = [];
  }

  /** Match and consume the fault rules for one call. */
  takeFaults(service: SandboxService, method: string, chatId: number | undefined): FaultDecision {
    const decision: FaultDecision = { latencyMs: 0, terminal: undefined };
    // The usual case (a benchmark, most tests): no rules, nothing to match or consume.
    if (this.#faults.length === 0) return decision;
    const lower = method.toLowerCase();
    for (const fault of this.#faults) {
      const { rule } = fault;
      if (rule.service !== service) continue;
      if (rule.method !== undefined && rule.method !== '*' && rule.method.toLowerCase() !== lower) continue;
      if (rule.chatId !== undefined && rule.chatId !== chatId) continue;
      if (rule.type === 'latency') {
        decision.latencyMs += rule.ms;
        fault.left--;
      } else if (decision.terminal === undefined) {
        decision.terminal = rule;
        fault.left--;
      }
    }
    if (this.#faults.some(f => f.left <= 0)) this.#faults = this.#faults.filter(f => f.left > 0);
    return decision;
  }

  registerFile(reg: FileRegistration, uploaded?: Buffer): StoredFile {
    const mimeType = reg.mimeType ?? 'audio/ogg';
    const n = ++this.#fileCounter;
    const folder = mimeType === 'audio/ogg' ? 'voice' : mimeType.startsWith('audio/') ? 'music' : 'documents';
    const tags: Record<string, string> =
      reg.transcript === undefined ? {} : { [TRANSCRIPT_TAG]: reg.transcript };
    const bytes =
      uploaded ??
      (mimeType === 'audio/mpeg' ? buildMp3({ tags }) : buildOpusVoice({ durationMs: 3000, tags }));
    const file: StoredFile = {
      fileId: reg.fileId,
      fileUniqueId: createHash('sha256').update(reg.fileId).digest('base64url').slice(0, 16),
      filePath: `${folder}/file_${n}.${EXTENSIONS[mimeType] ?? 'bin'}`,
      mimeType,
      transcript: reg.transcript,
      sizeBytes: reg.sizeBytes ?? bytes.length,
      bytes,
    };
    const previous = this.#files.get(reg.fileId);
    if (previous) this.#filesByPath.delete(previous.filePath);
    this.#files.set(file.fileId, file);
    this.#filesByPath.set(file.filePath, file);
    return file;
  }

  /** A file by id; an id never seen becomes a default 3 s voice note, so any update's file_id works. */
  fileById(fileId: string): StoredFile {
    return this.#files.get(fileId) ?? this.registerFile({ fileId });
  }

  fileByPath(filePath: string): StoredFile | undefined {
    return this.#filesByPath.get(filePath);
  }

  /** Telegram numbers messages per chat, increasing. */
  nextMessageId(botId: string, chatId: number | string): number {
    const key = `${botId}:${chatId}`;
    const next = (this.#messageIds.get(key) ?? 0) + 1;
    this.#messageIds.set(key, next);
    return next;
  }

  reset(): void {
    this.#calls = [];
    this.#faults = [];
    this.#files.clear();
    this.#filesByPath.clear();
    this.webhooks.clear();
    this.#messageIds.clear();
  }

  /** Wait `ms`, or less when the sandbox closes or `until` fires; resolves true when the full time passed. */
  async sleep(ms: number, until?: (wake: () => void) => () => void): Promise<boolean> {
    if (this.#closed) return false;
    return await new Promise<boolean>(resolve => {
      let unsubscribe = (): void => undefined;
      const finish = (full: boolean): void => {
        clearTimeout(timer);
        unsubscribe();
        this.#cancels.delete(cancel);
        resolve(full);
      };
      const cancel = (): void => finish(false);
      const timer = setTimeout(() => finish(true), ms);
      this.#cancels.add(cancel);
      if (until) unsubscribe = until(cancel);
    });
  }

  /** Register work to cancel on close (callback deliveries); returns the unregister function. */
  onClose(cancel: () => void): () => void {
    this.#cancels.add(cancel);
    return () => this.#cancels.delete(cancel);
  }

  /** Run work after the answer (a callback delivery); close() cancels and awaits it. */
  background(task: () => Promise<void>): void {
    const running = task().catch((err: unknown) => {
      this.options.logger.error({ err }, 'sandbox background task failed');
    });
    this.#tasks.add(running);
    void running.finally(() => this.#tasks.delete(running));
  }

  /** Cancel pending delays and deliveries and wait for background work to end. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const cancel of [...this.#cancels]) cancel();
    this.#cancels.clear();
    await Promise.allSettled([...this.#tasks]);
  }
}
