/**
 * Data-parallel training options: which rank this process is, and where the others meet (torch.distributed's
 * c10d in the addon). They come from train()'s `distributed` option, or from the environment that torchrun,
 * SLURM and Kubernetes set (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT; SLURM_PROCID and SLURM_NTASKS).
 */
import { expectInteger, expectObject, expectString, invalidOption, SsnError } from './errors';

export const DISTRIBUTED_BACKENDS = ['auto', 'gloo', 'nccl'] as const;
export type DistributedBackend = (typeof DISTRIBUTED_BACKENDS)[number];

export interface DistributedOptions {
  /** This process's rank, 0 .. worldSize - 1. Rank 0 hosts the rendezvous and writes the checkpoints. */
  rank: number;
  worldSize: number;
  /** Rank 0's host name or address. Default 127.0.0.1. */
  masterAddr?: string;
  /** Rank 0's rendezvous port. Default 29500. */
  masterPort?: number;
  /** 'auto' (default): gloo on the CPU, nccl on CUDA. */
  backend?: DistributedBackend;
  /** How long a rank waits for the others (rendezvous and every collective) before the job fails. Default 300. */
  timeoutSeconds?: number;
}

/** The addon's form (binding/train.cpp parse_distributed). */
export interface NativeDistributedOptions {
  rank: number;
  worldSize: number;
  masterAddr: string;
  masterPort: number;
  backend: DistributedBackend;
  timeoutSeconds: number;
}

export const DEFAULT_MASTER_ADDR = '127.0.0.1';
export const DEFAULT_MASTER_PORT = 29500;
export const DEFAULT_DISTRIBUTED_TIMEOUT_SECONDS = 300;

/** Checks train()'s `distributed` option: an object, or `true` to read the environment. */
export function resolveDistributed(value: unknown, env: NodeJS.ProcessEnv = process.env): NativeDistributedOptions {
  if (value === true) {
    const fromEnv = distributedFromEnv(env);
    if (!fromEnv) {
      throw new SsnError(
        'ERR_SSN_INPUT',
        'options.distributed is true, but neither RANK and WORLD_SIZE nor SLURM_PROCID and SLURM_NTASKS are set.',
        'Start the processes with torchrun, srun or `ssn train --nproc-per-node N`, or pass {rank, worldSize, ...}.',
      );
    }
    return fromEnv;
  }
  expectObject(value, 'options.distributed');
  const o = value as Partial<DistributedOptions>;
  const known = ['rank', 'worldSize', 'masterAddr', 'masterPort', 'backend', 'timeoutSeconds'];
  for (const key of Object.keys(o)) {
    if (!known.includes(key)) {
      throw new SsnError('ERR_SSN_INPUT', `Unknown option 'distributed.${key}'.`, `Known options: ${known.join(', ')}.`);
    }
  }
  const worldSize = expectInteger(o.worldSize, 'options.distributed.worldSize', 1);
  const rank = expectInteger(o.rank, 'options.distributed.rank', 0, worldSize - 1);
  const backend = o.backend ?? 'auto';
  if (!(DISTRIBUTED_BACKENDS as readonly unknown[]).includes(backend)) {
    throw invalidOption("'auto', 'gloo' or 'nccl'", 'options.distributed.backend', backend);
  }
  const timeoutSeconds = o.timeoutSeconds ?? DEFAULT_DISTRIBUTED_TIMEOUT_SECONDS;
  if (typeof timeoutSeconds !== 'number' || !(timeoutSeconds > 0) || timeoutSeconds > 86400) {
    throw invalidOption('seconds in (0, 86400]', 'options.distributed.timeoutSeconds', timeoutSeconds);
  }
  return {
    rank,
    worldSize,
    masterAddr: o.masterAddr === undefined ? DEFAULT_MASTER_ADDR : expectString(o.masterAddr, 'options.distributed.masterAddr'),
    masterPort: o.masterPort === undefined ? DEFAULT_MASTER_PORT : expectInteger(o.masterPort, 'options.distributed.masterPort', 1, 65535),
    backend: backend as DistributedBackend,
    timeoutSeconds,
  };
}

/**
 * The rank from the environment (torchrun's variables, else SLURM's), or undefined when none is set.
 * SSN_DIST_BACKEND and SSN_DIST_TIMEOUT carry the launcher's backend and timeout to its workers.
 */
export function distributedFromEnv(env: NodeJS.ProcessEnv = process.env): NativeDistributedOptions | undefined {
  const rankText = env.RANK ?? env.SLURM_PROCID;
  const worldText = env.WORLD_SIZE ?? env.SLURM_NTASKS;
  if (rankText === undefined || worldText === undefined) return undefined;
  const number = (text: string | undefined, name: string, fallback: number): number => {
    if (text === undefined || text === '') return fallback;
    const n = Number(text);
    if (!Number.isFinite(n)) throw invalidOption('a number', `the environment variable ${name}`, text);
    return n;
  };
  return resolveDistributed({
    rank: number(rankText, env.RANK !== undefined ? 'RANK' : 'SLURM_PROCID', 0),
    worldSize: number(worldText, env.WORLD_SIZE !== undefined ? 'WORLD_SIZE' : 'SLURM_NTASKS', 1),
    masterAddr: env.MASTER_ADDR || DEFAULT_MASTER_ADDR,
    masterPort: number(env.MASTER_PORT, 'MASTER_PORT', DEFAULT_MASTER_PORT),
    backend: (env.SSN_DIST_BACKEND || 'auto') as DistributedBackend,
    timeoutSeconds: number(env.SSN_DIST_TIMEOUT, 'SSN_DIST_TIMEOUT', DEFAULT_DISTRIBUTED_TIMEOUT_SECONDS),
  });
}

/** The local rank (one GPU per local rank), from torchrun's LOCAL_RANK or SLURM's SLURM_LOCALID. */
export function localRankFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const text = env.LOCAL_RANK ?? env.SLURM_LOCALID;
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}
