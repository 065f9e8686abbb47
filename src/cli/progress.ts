// Progress on stderr for long runs (sampling takes minutes on lavapipe). On a TTY: one self-redrawing line
// with a bar, step/total, percentage, rate, ETA and custom fields (e.g. ‖y − A x̂₀‖). Elsewhere (CI logs,
// pipes): a plain line every `plainIntervalMs`, plus the first and the last, so logs stay readable.

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export type ProgressFields = Record<string, number | string>;

export interface ProgressOptions {
  total: number;
  label?: string;
  /** default process.stderr */
  stream?: ProgressStream;
  /** force TTY or plain mode (default: stream.isTTY) */
  tty?: boolean;
  /** plain mode: seconds between lines (default 10 s) */
  plainIntervalMs?: number;
  /** TTY mode: minimum time between redraws (default 100 ms) */
  redrawIntervalMs?: number;
  /** what one step is called in the rate (default 'step') */
  unit?: string;
  /** clock in ms (tests inject one) */
  now?: () => number;
}

const RATE_WINDOW = 20;

export class Progress {
  readonly total: number;
  readonly label: string;
  step = 0;
  private fields: ProgressFields = {};
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly now: () => number;
  private readonly start: number;
  private readonly marks: Array<[step: number, t: number]> = [];
  private lastDraw = -Infinity;
  private finished = false;
  private drawn = false;
  private lastText = '';

  constructor(private readonly opts: ProgressOptions) {
    if (!(opts.total >= 0)) throw new Error(`Progress: total must be >= 0 (got ${opts.total})`);
    this.total = opts.total;
    this.label = opts.label ?? '';
    this.stream = opts.stream ?? process.stderr;
    this.tty = opts.tty ?? Boolean(this.stream.isTTY);
    this.now = opts.now ?? (() => performance.now());
    this.start = this.now();
    this.marks.push([0, this.start]);
  }

  /** Advance by n steps, optionally updating the custom fields. */
  tick(fields?: ProgressFields, n = 1): void {
    this.update(this.step + n, fields);
  }

  /** Jump to `step`, optionally updating the custom fields. */
  update(step: number, fields?: ProgressFields): void {
    if (this.finished) return;
    this.step = Math.min(step, this.total);
    if (fields) Object.assign(this.fields, fields);
    const t = this.now();
    this.marks.push([this.step, t]);
    if (this.marks.length > RATE_WINDOW) this.marks.shift();
    const interval = this.tty ? (this.opts.redrawIntervalMs ?? 100) : (this.opts.plainIntervalMs ?? 10_000);
    if (t - this.lastDraw >= interval || this.step === this.total) this.draw(t);
  }

  /** Update custom fields without advancing. */
  set(fields: ProgressFields): void {
    Object.assign(this.fields, fields);
  }

  /** Print a line without garbling the bar. */
  log(line: string): void {
    if (this.tty && this.drawn && !this.finished) {
      this.stream.write(`\r\x1b[K${line}\n`);
      this.draw(this.now());
    } else this.stream.write(`${line}\n`);
  }

  /** Finish: print the final state (always, in both modes) and an optional message. */
  done(message?: string): void {
    if (this.finished) return;
    const t = this.now();
    this.draw(t, true);
    this.finished = true;
    if (this.tty) this.stream.write('\n');
    if (message) this.stream.write(`${message}\n`);
  }

  /** steps per second over the recent window (undefined before the first step) */
  rate(t = this.now()): number | undefined {
    const [s0, t0] = this.marks[0];
    const ds = this.step - s0;
    const dt = (t - t0) / 1000;
    return ds > 0 && dt > 0 ? ds / dt : undefined;
  }

  /** The status text as it would be printed now (without the bar in plain mode). */
  render(t = this.now(), final = false): string {
    const pct = this.total > 0 ? Math.floor((100 * this.step) / this.total) : 100;
    const rate = this.rate(t);
    const unit = this.opts.unit ?? 'step';
    const rateText =
      rate === undefined ? `-- ${unit}/s` : rate >= 1 ? `${fmtNum(rate)} ${unit}/s` : `${fmtNum(1 / rate)} s/${unit}`;
    const timing =
      final || this.step === this.total
        ? `took ${fmtDuration((t - this.start) / 1000)}`
        : `ETA ${rate === undefined ? '--:--' : fmtDuration((this.total - this.step) / rate)}`;
    const custom = Object.entries(this.fields).map(([k, v]) => `${k} ${typeof v === 'number' ? fmtNum(v) : v}`);
    const parts = [`${this.step}/${this.total}`, `${pct}%`, rateText, timing, ...custom];
    if (!this.tty) return `${this.label ? `${this.label}: ` : ''}${parts.join(', ')}`;
    const cols = Math.max(40, this.stream.columns ?? 100);
    const rest = parts.join(' │ ');
    const barWidth = Math.max(10, Math.min(30, cols - rest.length - this.label.length - 4));
    const filled = this.total > 0 ? Math.round((barWidth * this.step) / this.total) : barWidth;
    const bar = '█'.repeat(filled) + '░'.repeat(barWidth - filled);
    const line = `${this.label ? `${this.label} ` : ''}${bar} ${rest}`;
    // Never let the line wrap: a wrapped line breaks the carriage-return redraw.
    return [...line].slice(0, cols - 1).join('');
  }

  private draw(t: number, final = false): void {
    this.lastDraw = t;
    this.drawn = true;
    const text = this.render(t, final);
    if (!this.tty && text === this.lastText) return; // e.g. done() right after the last step's line
    this.lastText = text;
    this.stream.write(this.tty ? `\r\x1b[K${text}` : `${text}\n`);
  }
}

/** 4 significant digits, exponent notation outside [1e-3, 1e5). */
export function fmtNum(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(2);
  return Number(v.toPrecision(4)).toString();
}

/** seconds -> m:ss or h:mm:ss */
export function fmtDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
