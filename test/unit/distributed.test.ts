import { distributedFromEnv, localRankFromEnv, resolveDistributed } from '../../lib/distributed';
import { resolveTraining } from '../../lib/train';

const items = [{ id: 'a', image: 'a.png', label: 0 as const }];

describe('distributed options', () => {
  it('read the torchrun environment, with its defaults', () => {
    expect(distributedFromEnv({ RANK: '1', WORLD_SIZE: '4', MASTER_ADDR: '10.0.0.1', MASTER_PORT: '29501' })).toEqual({
      rank: 1,
      worldSize: 4,
      masterAddr: '10.0.0.1',
      masterPort: 29501,
      backend: 'auto',
      timeoutSeconds: 300,
    });
    expect(distributedFromEnv({ RANK: '0', WORLD_SIZE: '2' })).toMatchObject({ masterAddr: '127.0.0.1', masterPort: 29500 });
    expect(distributedFromEnv({})).toBeUndefined();
    expect(localRankFromEnv({ LOCAL_RANK: '3' })).toBe(3);
  });

  it("fall back on SLURM's variables", () => {
    const env = { SLURM_PROCID: '5', SLURM_NTASKS: '8', SLURM_LOCALID: '1', MASTER_ADDR: 'node1' };
    expect(distributedFromEnv(env)).toMatchObject({ rank: 5, worldSize: 8, masterAddr: 'node1' });
    expect(localRankFromEnv(env)).toBe(1);
  });

  it('refuse bad values with the option named', () => {
    expect(() => resolveDistributed({ rank: 2, worldSize: 2 })).toThrow(/options\.distributed\.rank/);
    expect(() => resolveDistributed({ rank: 0, worldSize: 2, backend: 'mpi' })).toThrow(/options\.distributed\.backend/);
    expect(() => resolveDistributed({ rank: 0, worldSize: 2, masterPort: 70000 })).toThrow(/masterPort/);
    expect(() => resolveDistributed({ rank: 0, worldSize: 2, timeoutSeconds: 0 })).toThrow(/timeoutSeconds/);
    expect(() => resolveDistributed({ rank: 0, worldSize: 2, port: 1 })).toThrow(/Unknown option 'distributed\.port'/);
    expect(() => distributedFromEnv({ RANK: 'x', WORLD_SIZE: '2' })).toThrow(/RANK/);
    expect(() => resolveDistributed(true, {})).toThrow(/RANK and WORLD_SIZE/);
  });

  it('reach the addon through train() options', () => {
    const resolved = resolveTraining(items, { gradAccumulation: 2, distributed: { rank: 1, worldSize: 2, masterPort: 29600 } });
    expect(resolved.native.gradAccumulation).toBe(2);
    expect(resolved.native.distributed).toEqual({
      rank: 1,
      worldSize: 2,
      masterAddr: '127.0.0.1',
      masterPort: 29600,
      backend: 'auto',
      timeoutSeconds: 300,
    });
    expect(() => resolveTraining(items, { gradAccumulation: 0 })).toThrow(/options\.gradAccumulation/);
  });
});
