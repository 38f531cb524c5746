/**
 * Suites that need a system package (zfec, Chromium) skip on a developer's
 * machine without it, but under `CI=true` a missing package is a failure:
 * a green CI run must mean every suite ran.
 */
export const IN_CI = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== '0' && process.env.CI.toLowerCase() !== 'false';

/** True when the suite should be skipped: the dependency is missing and we are not in CI. */
export function skipWithout(available: boolean): boolean {
  return !available && !IN_CI;
}

/** Throws (failing the suite) when a dependency is missing; call it first in a suite that did not skip. */
export function requireDependency(available: boolean, what: string): void {
  if (!available) throw new Error(`${what} is missing: under CI a missing test dependency is a failure, not a skip`);
}
