import type Koa from 'koa';
import type { SandboxService } from './types.ts';

/** What a route learned about the call it serves, for the record and for fault matching. */
export interface CallInfo {
  service: SandboxService;
  method: string;
  botId?: string;
  chatId?: number;
  body?: unknown;
  /** Set when the connection was dropped instead of answered (recorded with status 0). */
  dropped?: boolean;
}

export interface SandboxCtxState {
  call?: CallInfo;
}

export type SandboxContext = Koa.ParameterizedContext<SandboxCtxState>;
