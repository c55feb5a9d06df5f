/** One bad setting: the variable's name and what is wrong with it (never the secret value itself). */
export interface ConfigIssue {
  name: string;
  message: string;
}

/**
 * Thrown once at start-up when settings are missing or invalid. `main.ts` prints every issue on
 * its own line and exits 1, so an operator fixes them all in one go.
 */
export class ConfigError extends Error {
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super(
      `invalid configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n` +
        issues.map(i => `  ${i.name}: ${i.message}`).join('\n'),
    );
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
