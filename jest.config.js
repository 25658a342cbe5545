/**
 * Two projects: `unit` (test/unit: pure TypeScript, no binary; seconds) and `native` (test/native: the CPU
 * addon, the CLI and the packed tarball). `npm test` runs both; `npm run test:unit` only the first.
 */
const shared = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': [
      'ts-jest',
      {
        tsconfig: {
          target: 'ES2022',
          module: 'commonjs',
          lib: ['ES2022', 'ESNext.Disposable'],
          esModuleInterop: true,
          strict: true,
          skipLibCheck: true,
        },
      },
    ],
  },
};

module.exports = {
  testTimeout: 120000,
  projects: [
    { ...shared, displayName: 'unit', roots: ['<rootDir>/test/unit'], testMatch: ['**/*.test.ts'] },
    { ...shared, displayName: 'native', roots: ['<rootDir>/test/native'], testMatch: ['**/*.test.ts'] },
  ],
};
