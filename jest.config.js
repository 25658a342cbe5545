/** Tests: test/unit (pure TypeScript, no binary) and test/native (the CPU addon). */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testTimeout: 120000,
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: { target: 'ES2022', module: 'commonjs', lib: ['ES2022', 'ESNext.Disposable'], esModuleInterop: true, strict: true, skipLibCheck: true } }] },
};
