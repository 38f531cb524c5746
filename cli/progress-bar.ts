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

/** Terminal width the bar's line must fit (it may be wider: then it is centred on 80 anyway). */
export const LINE_WIDTH = 80;
const LABEL_WIDTH = 17; // "encoding (failed)"

export interface BarLine {
  label: string;
  /** 0..1 */
  fraction: number;
  done: string;
  all: string;
  rate: string;
  eta: string;
}

/**
 * One progress line, never wider than `width` columns (an 80-column terminal
 * must not wrap it, or every redraw adds a line): the bar takes what the
 * numbers leave, the label is cut if it must be.
 */
export function renderBarLine(l: BarLine, width = LINE_WIDTH): string {
  const pct = `${Math.floor(Math.min(1, Math.max(0, l.fraction)) * 100)}%`.padStart(4);
  // Fixed-width fields, so the bar does not change length as the numbers do.
  const tail = ` ${pct} ${l.done.padStart(10)}/${l.all} ${l.rate.padStart(12)} ETA ${l.eta.padStart(5)}`;
  const label = l.label.slice(0, LABEL_WIDTH).padEnd(11); // as wide as "downloading"
  const barWidth = Math.max(0, width - label.length - 3 - tail.length); // " [" + "]"
  const filled = Math.round(Math.min(1, Math.max(0, l.fraction)) * barWidth);
  const line = barWidth >= 5 ? `${label} [${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]${tail}` : `${label}${tail}`;
  return line.length > width ? line.slice(0, width) : line;
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
          format: (_options, params, payload: Record<string, string>) =>
            renderBarLine({ label: payload.phase, fraction: params.progress, done: payload.done, all: payload.all, rate: payload.rate, eta: payload.etaText }),
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
      phase: label,
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
