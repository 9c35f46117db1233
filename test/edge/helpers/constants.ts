/** Test secrets and keys (no imports, so vitest global setups can use them). */
export const TEST_SECRET = 'test-secret-0123456789-abcdefghijklmnop';
export const TEST_KEY = 'sk-test-key-123456';
