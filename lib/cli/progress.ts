/**
 * Training progress on stderr: one self-rewriting line with a bar, the loss and the ETA on a terminal;
 * plain lines (each epoch's end, and at most one every 10 s) when stderr is a file or a pipe.
 */
import type { TrainProgress, TrainSummary } from '../types';

const BAR = 24;
const PLAIN_INTERVAL_MS = 10_000;

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function progressLine(p: TrainProgress): string {
  const done = p.epoch * p.stepsPerEpoch + p.step;
  const total = p.epochs * p.stepsPerEpoch;
  const filled = Math.round((done / total) * BAR);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}]`;
  return (
    `epoch ${p.epoch + 1}/${p.epochs} ${bar} step ${p.step}/${p.stepsPerEpoch} loss ${p.loss.toFixed(4)} ` +
    `(l1 ${p.truncatedL1.toFixed(4)}, map ${p.focalMap.toFixed(4)}, score ${p.focalScore.toFixed(4)}) ` +
    `${p.imagesPerSecond.toFixed(1)} img/s ${p.precision} ETA ${formatDuration(p.etaSeconds)}`
  );
}

/** What the run trained in and why; with a budget, how the warm-up sized the schedule. */
export function scheduleLine(s: TrainSummary): string {
  const milestones =
    Array.isArray(s.config.milestones) && s.config.milestones.length > 0
      ? `LR x${String(s.config.gamma)} at epochs ${(s.config.milestones as number[]).join(' and ')}`
      : '';
  const budget = s.budget
    ? `budget ${formatDuration(s.budget.seconds)}: warm-up measured ${s.budget.secondsPerStep.toFixed(2)} s per step of ` +
      `${String(s.config.batch_size)}, so ${String(s.config.epochs)} epochs${milestones ? `, ${milestones}` : ''}; `
    : '';
  return `${budget}precision ${s.precisionReason}`;
}

export interface ProgressReporter {
  report(p: TrainProgress): void;
  /** Ends the self-rewriting line (call before printing anything else). */
  done(): void;
}

export function progressReporter(stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  const tty = stream.isTTY === true;
  let lastPlain = 0;
  let open = false;
  return {
    report(p) {
      if (tty) {
        stream.write(`\r${progressLine(p).slice(0, Math.max(20, (stream.columns ?? 120) - 1))}\x1b[K`);
        open = true;
        return;
      }
      const now = Date.now();
      if (p.step === p.stepsPerEpoch || now - lastPlain >= PLAIN_INTERVAL_MS) {
        lastPlain = now;
        stream.write(`${progressLine(p)}\n`);
      }
    },
    done() {
      if (open) stream.write('\n');
      open = false;
    },
  };
}
