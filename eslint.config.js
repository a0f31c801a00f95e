// ESLint flat config (`npm run lint`). The rules that guard the shape of src/:
//  - no import cycles in src/ (import-x/no-cycle; `import type` is erased at run time and
//    ignored by the rule, so a type-only back edge is allowed);
//  - src/core is pure: it imports nothing from src/io, src/commands, src/context.ts or
//    src/cli.ts, and no Node module or package that touches the world;
//  - external programs start only in src/io/exec.ts (the exec wrapper), so nothing else in src/
//    imports node:child_process.
// Beyond those, the recommended sets of @eslint/js and typescript-eslint (not the type-checked
// ones: they need the TypeScript program and would make a lint run several times slower).
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import globals from 'globals';

/** Node modules that reach outside the process: files, processes, network, terminal. */
const WORLD_MODULES = [
  'child_process',
  'cluster',
  'dgram',
  'dns',
  'dns/promises',
  'fs',
  'fs/promises',
  'http',
  'http2',
  'https',
  'net',
  'os',
  'process',
  'readline',
  'readline/promises',
  'tls',
  'tty',
  'worker_threads',
].flatMap((m) => [m, `node:${m}`]);

/** Dependencies that do I/O (HTTP, terminal, prompts, archives). */
const WORLD_PACKAGES = ['got', 'hpagent', 'ora', '@inquirer/prompts', 'tar'];

const CHILD_PROCESS = {
  paths: ['child_process', 'node:child_process'],
  message: 'start external programs through the exec wrapper (src/io/exec.ts), as an argv array',
};

export default defineConfig(
  {
    ignores: ['dist/', 'node_modules/', 'fixtures/mirror/', 'fixtures/.mirror-build.*/', 'coverage/'],
  },
  js.configs.recommended,
  {
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['**/*.{ts,mts}'],
    extends: [tseslint.configs.recommended],
    rules: {
      // `const { locations: _l, ...spec } = p` is how the code drops a field; that is a use.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      // Without these two, import-x treats .ts files as unparseable and no-cycle sees no edges.
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      // Maps the `.js` specifiers of TypeScript's NodeNext ESM to the `.ts` files.
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      'import-x/no-cycle': 'error',
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: './src/core',
              from: ['./src/io', './src/commands', './src/context.ts', './src/cli.ts'],
              message: 'src/core is pure: it takes facts as arguments and never imports src/io, src/commands, the context or the CLI',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    // exec.ts is the wrapper; stap.ts streams stap's stderr line by line while it runs (the
    // verify spinner), which the buffered wrapper cannot.
    ignores: ['src/io/exec.ts', 'src/io/stap.ts', 'src/core/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: CHILD_PROCESS.paths.map((name) => ({ name, message: CHILD_PROCESS.message })) }],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...WORLD_MODULES, ...WORLD_PACKAGES].map((name) => ({
            name,
            message: 'src/core is pure: I/O belongs in src/io, which hands core the facts',
          })),
        },
      ],
    },
  },
);
