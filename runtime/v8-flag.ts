/**
 * Process-wide V8 settings the CLI applies for one kind of work. A setting
 * the operator started node with wins: the flag is then left alone.
 */

/** `--name=value`, or undefined when `execArgv` already has `--name` (in either spelling, `-` or `_`). */
export function v8FlagUnlessGiven(name: string, value: number, execArgv: readonly string[]): string | undefined {
  const spelled = name.replace(/^--/, '').split(/[-_]/).join('[-_]');
  const own = new RegExp(`^--${spelled}(=|$)`);
  return execArgv.some((a) => own.test(a)) ? undefined : `${name}=${value}`;
}
