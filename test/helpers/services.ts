import { describe } from 'vitest';

/**
 * PostgreSQL and Redis for tests come from TEST_DATABASE_URL and TEST_REDIS_URL. Without
 * them a suite is skipped with a printed reason, except where SWITCHBOARD_REQUIRE_SERVICES=1
 * (as .ci/run sets): there a missing service is a failure, never a silent skip.
 */
export function serviceUrl(variable: 'TEST_DATABASE_URL' | 'TEST_REDIS_URL'): string | undefined {
  const url = process.env[variable];
  if (url) return url;
  if (process.env.SWITCHBOARD_REQUIRE_SERVICES === '1') {
    throw new Error(`${variable} is not set, and SWITCHBOARD_REQUIRE_SERVICES=1 forbids skipping.`);
  }
  console.warn(`skipping tests that need ${variable}: it is not set`);
  return undefined;
}

/** `describe` that runs only when every named service is configured. */
export function describeWithServices(
  variables: readonly ('TEST_DATABASE_URL' | 'TEST_REDIS_URL')[],
  name: string,
  body: () => void,
): void {
  const missing = variables.filter((variable) => serviceUrl(variable) === undefined);
  describe.skipIf(missing.length > 0)(name, body);
}
