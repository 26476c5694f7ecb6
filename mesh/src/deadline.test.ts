import { describe, expect, it } from 'vitest';
import { Deadline, parseGrpcTimeout, remainingFromHeaders } from './deadline.ts';

describe('deadline headers', () => {
  it('parses grpc-timeout units', () => {
    expect(parseGrpcTimeout('300m')).toBe(300);
    expect(parseGrpcTimeout('2S')).toBe(2000);
    expect(parseGrpcTimeout('1M')).toBe(60_000);
    expect(parseGrpcTimeout('1H')).toBe(3_600_000);
    expect(parseGrpcTimeout('5000u')).toBe(5);
    expect(parseGrpcTimeout('300')).toBeUndefined();
    expect(parseGrpcTimeout('123456789m')).toBeUndefined(); // more than 8 digits
  });

  it('takes the smallest budget and ignores malformed values', () => {
    expect(remainingFromHeaders({})).toBeUndefined();
    expect(remainingFromHeaders({ 'x-bw-timeout-ms': '250' })).toBe(250);
    expect(remainingFromHeaders({ 'x-bw-timeout-ms': '250', 'grpc-timeout': '100m' })).toBe(100);
    expect(remainingFromHeaders({ 'x-bw-timeout-ms': '250', 'x-envoy-expected-rq-timeout-ms': '90' })).toBe(
      90,
    );
    expect(remainingFromHeaders({ 'x-bw-timeout-ms': 'soon', 'grpc-timeout': 'x' })).toBeUndefined();
    expect(remainingFromHeaders({ 'x-bw-timeout-ms': '-5' })).toBe(-5);
  });

  it('a Deadline counts down and its signal fires at the deadline', async () => {
    const d = Deadline.after(30);
    expect(d.remainingMs()).toBeGreaterThan(0);
    expect(d.expired).toBe(false);
    await new Promise<void>((resolve) => d.signal.addEventListener('abort', () => resolve(), { once: true }));
    // Timers may fire a fraction of a millisecond before performance.now() reaches the deadline.
    expect(d.remainingMs()).toBeLessThan(1);
    expect(Deadline.after(-1).expired).toBe(true);
  });
});
