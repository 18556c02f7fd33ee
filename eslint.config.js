// eslint (flat config) with typescript-eslint's recommended rules, over src/, test/, bench/ and
// scripts/. Formatting is prettier's job (.prettierrc), not eslint's: no style rules here.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'bench/out/', 'node_modules/', 'coverage/', 'deploy/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
      },
    },
    rules: {
      // `_name` marks a value kept on purpose (a destructured field dropped, an unused argument).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      // `x == null` is the one loose comparison we use: null or undefined, on purpose.
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-var': 'error',
      // A `let` read by a callback set up before its one assignment cannot be a const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // prom-client calls collect() with the metric as `this`: `self` keeps the outer object.
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['self'] }],
      // tsc's noUnusedLocals reports unused #private members, and it understands `??=` (this rule does not).
      'no-unused-private-class-members': 'off',
    },
  },
  {
    // Tests read parsed JSON and YAML from real servers loosely in assertions; src/ stays free of `any`.
    files: ['test/**', 'bench/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
