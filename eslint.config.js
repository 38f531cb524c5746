import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.ferry/', 'test/fixtures/', 'helper/admin/page/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
  },
  {
    // client/ is a library: core/, runtime/ and the helper's wire contract only (also enforced by `npm run lint:deps`).
    files: ['client/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^(\\.\\./)+(storage|cli|bin|bench|test)/', message: 'client/ imports only core/, runtime/ and helper/protocol.ts.' },
            { regex: '^(\\.\\./)+helper/(?!protocol\\.js$)', message: 'client/ imports only core/, runtime/ and helper/protocol.ts.' },
          ],
        },
      ],
    },
  },
);
