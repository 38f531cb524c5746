/**
 * The dependency direction of the source tree (README.md, "Layout"), checked
 * by `npm run lint:deps` as part of `npm test`:
 *
 *   core <- runtime <- storage <- helper <- cli
 *                  ^------- client (+ helper/protocol.ts) <-/
 *
 * bin/, bench/ and test/ may import anything.
 */
const APP = '^(core|runtime|storage|helper|client|cli|bin|bench|test)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules that import each other (also through type-only imports) cannot be read, tested or moved one at a time.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-is-self-contained',
      severity: 'error',
      comment: 'core/ holds formats and algorithms: it imports only core/, node builtins and its crypto library.',
      from: { path: '^core/' },
      to: { dependencyTypesNot: ['core'], pathNot: ['^core/', '^node_modules/libsodium-wrappers-sumo/'] },
    },
    {
      name: 'runtime-imports-only-core',
      severity: 'error',
      comment: 'runtime/ is plumbing shared by every area: of the project it imports only core/.',
      from: { path: '^runtime/' },
      to: { path: APP, pathNot: '^(core|runtime)/' },
    },
    {
      name: 'storage-stands-alone',
      severity: 'error',
      comment: 'The storage server knows nothing of the helper, the client or the CLI.',
      from: { path: '^storage/' },
      to: { path: '^(helper|client|cli|bin|bench|test)/' },
    },
    {
      name: 'helper-not-client-or-cli',
      severity: 'error',
      comment: 'The helper serves clients through its wire contract (helper/protocol.ts), never through client/ code.',
      from: { path: '^helper/' },
      to: { path: '^(client|cli|bin|bench|test)/' },
    },
    {
      name: 'client-is-a-library',
      severity: 'error',
      comment: 'client/ imports core/, runtime/ and the helper\'s wire contract (helper/protocol.ts), nothing else of the project.',
      from: { path: '^client/' },
      to: { path: APP, pathNot: ['^(core|runtime|client)/', '^helper/protocol\\.ts$'] },
    },
    {
      name: 'only-entry-points-import-cli',
      severity: 'error',
      comment: 'cli/ is the top: only bin/, bench/ and test/ may import it.',
      from: { pathNot: '^(cli|bin|bench|test)/' },
      to: { path: '^cli/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: they tie modules together as much as value imports.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: ['^dist/', '^node_modules/'] },
  },
};
