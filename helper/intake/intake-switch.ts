/**
 * Whether this helper takes new uploads. An operator pauses intake
 * (helper/jobs/actions.ts); the check and tus creation refuse new uploads
 * while it is paused, uploads already known carry on.
 */
export class IntakeSwitch {
  #paused = false;

  get paused(): boolean {
    return this.#paused;
  }

  /** Sets the switch; returns whether that changed it. */
  set(paused: boolean): boolean {
    const changed = this.#paused !== paused;
    this.#paused = paused;
    return changed;
  }
}
