/**
 * What the stand-in "agent" answers. Prompts steer it so tests can reach every branch of the
 * receiver's formatting: `[[fail]]`, `[[long:N]]`, `[[ansi]]`, `[[delay:MS]]` (callback delay) and
 * `[[silent]]` (no callback at all).
 */

/** Longest `[[long:N]]` output (5 MB), so a typo cannot make the sandbox build gigabytes. */
export const MAX_LONG_OUTPUT = 5_000_000;

export interface AgentOutcome {
  success: boolean;
  output: string;
  error: string | null;
  exitCode: number;
}

/** The `[[delay:MS]]` of a prompt, if it has one. */
export function promptDelayMs(prompt: string): number | undefined {
  const m = /\[\[delay:(\d{1,7})\]\]/.exec(prompt);
  return m ? Number(m[1]) : undefined;
}

/**
 * Whether a prompt says `[[silent]]`: accepted, and never called back (a run whose result is lost, as
 * the still-working notice expects). Holds nothing while it "runs", unlike a long `[[delay:MS]]`: a
 * benchmark that only measures the forward path sends it, so the stand-in keeps no timer per call.
 */
export function isSilentPrompt(prompt: string): boolean {
  return prompt.includes('[[silent]]');
}

/** Numbered lines cut to exactly `length` characters. */
export function numberedLines(length: number): string {
  const lines: string[] = [];
  let size = 0;
  for (let i = 1; size < length; i++) {
    const line = `${String(i).padStart(6, '0')} the quick brown fox jumps over the lazy dog\n`;
    lines.push(line);
    size += line.length;
  }
  return lines.join('').slice(0, length);
}

export const ANSI_OUTPUT =
  '\u001b[1;32m✔ Done\u001b[0m: edited <src/app.ts> & <src/main.ts>\n' +
  'if (a < b && c > d) { return "x"; }\n' +
  '\u001b[33mwarning\u001b[0m: 2 files > 100 lines & <b>not</b> formatted\n';

export function runPrompt(prompt: string): AgentOutcome {
  if (prompt.includes('[[fail]]')) {
    return { success: false, output: `Echo: ${prompt}`, error: 'Iteration failed', exitCode: 1 };
  }
  const long = /\[\[long:(\d{1,9})\]\]/.exec(prompt);
  if (long) {
    return {
      success: true,
      output: numberedLines(Math.min(Number(long[1]), MAX_LONG_OUTPUT)),
      error: null,
      exitCode: 0,
    };
  }
  if (prompt.includes('[[ansi]]')) return { success: true, output: ANSI_OUTPUT, error: null, exitCode: 0 };
  return { success: true, output: `Echo: ${prompt}`, error: null, exitCode: 0 };
}

/** A request as the stand-in reads it (seed-contract §2.2). */
export interface IterateRequest {
  requestId: string;
  prompt: string;
  repository: string;
  branchName: string | undefined;
  maxIterations: number;
  callbackUrl: string | undefined;
}

/** The §2.4 result body (camelCase), success or failure. */
export function resultBody(req: IterateRequest, outcome: AgentOutcome, startedAt: number) {
  const common = {
    requestId: req.requestId,
    repository: req.repository,
    iterations: 1,
    maxIterations: req.maxIterations,
    output: outcome.output,
    error: outcome.error,
    exitCode: outcome.exitCode,
    duration: `${Date.now() - startedAt}ms`,
    timestamp: new Date().toISOString(),
  };
  return outcome.success
    ? { success: true, ...common, branchName: req.branchName ?? 'main' }
    : { success: false, ...common };
}
