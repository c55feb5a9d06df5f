// Flat config: typescript-eslint strict + type-aware promise rules (no floating promises anywhere in src).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // charts/*/files/k6: generated bundles of k6/ (checked for drift by make chart).
  {
    ignores: [
      '**/node_modules/**',
      '.tools/**',
      'coverage/**',
      'bench/results/**',
      'charts/**/files/**',
      '**/dist/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': ['error', { allow: ['warn', 'error'] }],
      curly: ['error', 'multi-line'],
    },
  },
  {
    files: ['**/test/**', '**/*.test.ts', 'bench/**', 'packages/testing/**'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off', 'no-console': 'off' },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
