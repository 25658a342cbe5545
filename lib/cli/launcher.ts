/**
 * `ssn train --nproc-per-node N`: a torchrun-style launcher. It starts N copies of the same command as
 * workers, each with the environment torchrun gives (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
 * MASTER_PORT), and watches them: when one fails, the others are stopped and the job fails naming that rank;
 * Ctrl-C goes to every worker, which all stop after the same step. Nothing is left running.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';

import { DEFAULT_MASTER_ADDR } from '../distributed';
import { SsnError } from '../errors';
import { log } from './output';

export interface LaunchOptions {
  nprocPerNode: number;
  nnodes: number;
  nodeRank: number;
  masterAddr?: string;
  masterPort?: number;
  backend: string;
  timeoutSeconds: number;
  /** Where the job's last checkpoint is, for the hint of a failed job. */
  checkpoint?: string;
}

/** Set in the workers' environment: they train instead of launching again. */
export const WORKER_ENV = 'SSN_DIST_WORKER';
/**
 * After a worker failed, the others fail on their own at their next collective: they get this long to exit
 * (a checkpoint being written is finished), then SIGTERM, and as long again before SIGKILL.
 */
const STOP_GRACE_MS = 5_000;

/** A free TCP port on the loopback interface, for a single-node job's rendezvous. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

interface Exit {
  rank: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}

function describe(exit: Exit): string {
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

/** Runs the job's workers on this node; resolves when all succeeded, rejects (ERR_SSN_DISTRIBUTED) otherwise. */
export async function launchWorkers(options: LaunchOptions): Promise<void> {
  const { nprocPerNode, nnodes, nodeRank } = options;
  if (nnodes > 1 && (options.masterAddr === undefined || options.masterPort === undefined)) {
    throw new SsnError(
      'ERR_SSN_INPUT',
      'A multi-node job needs --master-addr and --master-port (or MASTER_ADDR and MASTER_PORT).',
      'Give every node the address and a free port of the node with --node-rank 0.',
    );
  }
  const masterAddr = options.masterAddr ?? DEFAULT_MASTER_ADDR;
  const masterPort = options.masterPort ?? (await freePort());
  const worldSize = nnodes * nprocPerNode;
  const workers: ChildProcess[] = [];
  const exits: Exit[] = [];
  let firstFailure: Exit | undefined;
  let interrupted = false;
  const timers: NodeJS.Timeout[] = [];

  const signalRunning = (signal: NodeJS.Signals): void => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill(signal);
  };
  const stopAll = (grace = STOP_GRACE_MS): void => {
    if (timers.length > 0) return;
    timers.push(setTimeout(() => signalRunning('SIGTERM'), grace));
    timers.push(setTimeout(() => signalRunning('SIGKILL'), 2 * grace + 1));
  };
  const onSigint = (): void => {
    interrupted = true;
    for (const w of workers) w.kill('SIGINT');
  };
  const onSigterm = (): void => {
    interrupted = true;
    stopAll(0);
  };

  const done = new Promise<void>((resolve) => {
    for (let local = 0; local < nprocPerNode; local++) {
      const rank = nodeRank * nprocPerNode + local;
      const env = {
        ...process.env,
        [WORKER_ENV]: '1',
        RANK: String(rank),
        WORLD_SIZE: String(worldSize),
        LOCAL_RANK: String(local),
        LOCAL_WORLD_SIZE: String(nprocPerNode),
        MASTER_ADDR: masterAddr,
        MASTER_PORT: String(masterPort),
        SSN_DIST_BACKEND: options.backend,
        SSN_DIST_TIMEOUT: String(options.timeoutSeconds),
        // The node's cores shared among its workers (torchrun gives each one thread).
        OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? String(Math.max(1, Math.floor(availableParallelism() / nprocPerNode))),
      };
      // Rank 0 speaks for the job (progress, summary); the others' output is their errors, prefixed.
      const quiet = rank !== 0;
      const child = spawn(process.execPath, process.argv.slice(1), {
        env,
        stdio: quiet ? ['ignore', 'ignore', 'pipe'] : 'inherit',
      });
      child.stderr?.on('data', (d: Buffer) => {
        for (const line of d.toString().split('\n')) if (line.trim()) process.stderr.write(`[rank ${rank}] ${line}\n`);
      });
      child.on('exit', (code, signal) => {
        const exit = { rank, code, signal };
        exits.push(exit);
        if ((code !== 0 || signal) && !firstFailure) {
          firstFailure = exit;
          if (!interrupted) stopAll();
        }
        if (exits.length === nprocPerNode) resolve();
      });
      workers.push(child);
    }
  });
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  log(
    `launched ${nprocPerNode} worker(s) of ${worldSize}, ranks ${nodeRank * nprocPerNode}..${(nodeRank + 1) * nprocPerNode - 1}, ` +
      `rendezvous ${masterAddr}:${masterPort} (pids ${workers.map((w) => w.pid).join(', ')})`,
  );
  try {
    await done;
  } finally {
    for (const t of timers) clearTimeout(t);
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
  }
  if (!firstFailure) return;
  if (interrupted) {
    throw new SsnError('ERR_SSN_ABORTED', 'Training stopped on request; every worker has exited.', resumeHint(options));
  }
  const others = exits.filter((e) => e.rank !== firstFailure?.rank).map((e) => `rank ${e.rank} ${describe(e)}`);
  const rest = others.length > 0 ? ` (${others.join(', ')})` : '';
  throw new SsnError(
    'ERR_SSN_DISTRIBUTED',
    `Rank ${firstFailure.rank} ${describe(firstFailure)}; the job was stopped${rest}.`,
    resumeHint(options),
  );
}

function resumeHint(options: LaunchOptions): string {
  return options.checkpoint
    ? `Rerun with --resume ${options.checkpoint} to continue from the last checkpoint (any world size).`
    : 'Nothing was saved: use --checkpoint-every to be able to resume.';
}
