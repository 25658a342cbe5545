import { SerialQueue } from '../../lib/queue';
import { delay } from './fake-native';

describe('SerialQueue', () => {
  it('runs jobs one at a time in call order', async () => {
    const queue = new SerialQueue();
    const log: string[] = [];
    let running = 0;
    const job = (name: string, ms: number) => async () => {
      running += 1;
      expect(running).toBe(1);
      log.push(`start ${name}`);
      await delay(ms);
      log.push(`end ${name}`);
      running -= 1;
      return name;
    };
    const results = await Promise.all([queue.run(job('a', 15)), queue.run(job('b', 1)), queue.run(job('c', 5))]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('keeps going after a failed job', async () => {
    const queue = new SerialQueue();
    const order: string[] = [];
    const failed = queue.run(async () => {
      await delay(5);
      order.push('failed');
      throw new Error('boom');
    });
    const ok = queue.run(async () => {
      order.push('ok');
      return 42;
    });
    await expect(failed).rejects.toThrow('boom');
    await expect(ok).resolves.toBe(42);
    expect(order).toEqual(['failed', 'ok']);
  });
});
