import { badInputDrill } from './bad-input.js';
import { clientKillDrill, flakyLinkDrill } from './client-faults.js';
import { corruptDrill } from './corrupt.js';
import { diskFullDrill } from './disk-full.js';
import { helperKillDrill } from './helper-kill.js';
import { hostileDrill } from './hostile.js';
import { largestSegmentDrill } from './largest-segment.js';
import { runDrills, type Drill } from './lib.js';
import { storageKillDrill } from './storage-kill.js';

/**
 * `npm run test:faults [-- --size 32] [-- --only NAME]`: kill / flap /
 * corrupt drills against real processes on loopback. Prints each check and a
 * closing `N passed, N failed`; exits 1 if any check failed.
 */
const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const sizeMiB = Number(flag('--size') ?? 16);
const only = flag('--only');

const fuzzRuns = Number(flag('--fuzz-runs') ?? 1000);
// Printed, so a failing fuzz run can be replayed with `--only bad --seed N`.
const seed = Number(flag('--seed') ?? Math.floor(Math.random() * 2 ** 31));
console.log(`fuzz seed ${seed}`);

const kills = Number(flag('--kills') ?? 20);

const drills: Drill[] = [
  clientKillDrill(sizeMiB, kills),
  flakyLinkDrill(sizeMiB),
  helperKillDrill(sizeMiB),
  storageKillDrill(sizeMiB),
  diskFullDrill(sizeMiB),
  corruptDrill(Number(flag('--flips') ?? 100)),
  badInputDrill(fuzzRuns, seed),
  largestSegmentDrill(),
  hostileDrill(sizeMiB),
];
const selected = only ? drills.filter((d) => d.name.includes(only)) : drills;
const { failed } = await runDrills(selected);
process.exitCode = failed ? 1 : 0;
