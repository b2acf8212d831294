import js from '@eslint/js';
import globals from 'globals';
import svelte from 'eslint-plugin-svelte';
import tseslint from 'typescript-eslint';

/** Server domains: folders that own routes, services and jobs of their own. */
const DOMAINS = ['auth', 'crm', 'inbox', 'outbound', 'meetings', 'team', 'timeline', 'storage', 'jobs', 'delivery'];

/** One `no-restricted-imports` rule per boundary. */
function boundaries(rules) {
  return rules.map(({ files, group, message }) => ({
    files,
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group, message }] }] },
  }));
}

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'web/build/', 'web/.svelte-kit/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  {
    files: ['web/**/*.{ts,svelte}'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] } },
  },
  {
    files: ['bench/**', 'scripts/**'],
    rules: { 'no-console': 'off' },
  },
  // The boundaries of docs/architecture.md: arrows run one way.
  ...boundaries([
    {
      files: ['contracts/**'],
      group: ['../*', '../**'],
      message: 'contracts/ is shared by server and web: it imports only zod and other contracts files.',
    },
    {
      files: ['mail/**'],
      group: ['../server/**', '../db/**', '../realtime/**', '../mail-gateway/**', '../web/**'],
      message: 'mail/ is a pure mail library: it imports nothing of the application.',
    },
    {
      files: ['server/http/**'],
      group: DOMAINS.map((d) => `../${d}/**`),
      message: 'server/http/ is plumbing: it knows no domain (routes declare their own contracts).',
    },
    {
      files: ['server/crm/**'],
      group: ['../inbox/**', '../outbound/**', '../meetings/**'],
      message: 'The CRM core knows no channel: inbox, outbound and meetings build on it, not the other way.',
    },
    {
      files: ['server/timeline/**'],
      group: ['../crm/**', '../inbox/**', '../outbound/**', '../meetings/**', '../team/**'],
      message: 'server/timeline/ is shared machinery: domains write to it, it imports none of them.',
    },
    {
      files: ['mail-gateway/**'],
      group: ['../server/*/**', '!../server/logger.ts'],
      message: 'mail-gateway/ is the SMTP role only: it stores and queues, the inbox reads.',
    },
    {
      files: ['web/**'],
      group: ['**/server/**', '**/realtime/**', '**/db/**', '**/mail-gateway/**', '../../*', '../../**'],
      message: 'The web app reaches the server only through #contracts/*, and its own code through #lib/*.',
    },
  ]),
);
