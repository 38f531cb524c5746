import cliProgress from 'cli-progress';
import { formatSize } from '../runtime/size.js';

export interface PhaseProgress {
  phase: string;
  bytes: number;
  total: number;
  state?: string;
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (x: number) => String(x).padStart(2, '0');
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

/**
 * One cli-progress bar per phase on stderr (hashing, uploading, encoding):
 * a finished phase keeps its line, so the log of a run shows where time went.
 * Rate and ETA are computed per phase from the bytes it moved itself (a
 * resumed upload does not count the part sent before).
 */
export class ProgressView {
  private bar: cliProgress.SingleBar | undefined;
  private phase = '';
  private phaseStart = 0;
  private firstBytes = 0;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    readonly enabled: boolean,
    private readonly shown: ReadonlySet<string> = new Set(['hashing', 'uploading', 'encoding', 'downloading']),
  ) {}

  update(p: PhaseProgress): void {
    if (!this.enabled) return;
    if (p.phase !== this.phase) {
      this.finish();
      this.phase = p.phase;
      if (!this.shown.has(p.phase)) return;
      this.phaseStart = Date.now();
      this.firstBytes = p.bytes;
      this.bar = new cliProgress.SingleBar(
        {
          stream: this.stream,
          format: '{phase} [{bar}] {percentage}% | {done} of {all} | {rate} | ETA {etaText}',
          barsize: 28,
          hideCursor: true,
          fps: 8,
          clearOnComplete: false,
          barCompleteChar: '#',
          barIncompleteChar: '-',
        },
        cliProgress.Presets.legacy,
      );
      this.bar.start(Math.max(1, p.total), p.bytes, this.payload(p));
      return;
    }
    this.bar?.update(p.bytes, this.payload(p));
  }

  private payload(p: PhaseProgress): Record<string, string> {
    const seconds = (Date.now() - this.phaseStart) / 1000;
    const rate = seconds > 0.2 ? (p.bytes - this.firstBytes) / seconds : 0;
    const label = p.state && p.state !== p.phase ? `${p.phase} (${p.state})` : p.phase;
    return {
      phase: label.padEnd(20),
      done: formatSize(p.bytes),
      all: formatSize(p.total),
      rate: rate ? `${formatSize(Math.round(rate))}/s` : '--',
      etaText: rate ? formatEta((p.total - p.bytes) / rate) : '--:--',
    };
  }

  /** One line for the user on stderr; with a bar showing, it goes above the bar (redrawn at its next update). */
  note(line: string): void {
    if (this.bar) this.stream.write('\r\x1b[K');
    this.stream.write(`${line}\n`);
  }

  /**
   * A transfer failed and is retried: on a terminal (or with --debug) one line
   * says so, so a helper that vanished does not look like a frozen bar.
   */
  retrying(err: Error, failure: number, of: number, debug: boolean): void {
    if (this.enabled || debug) this.note(`ferry: retrying (${failure}/${of})… ${err.message}`);
  }

  /** Stops the current bar, leaving its last line on the terminal. */
  finish(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
