/** Shared helpers for the benchmarks in test/bench: what machine ran them, and timing samples. */

import type { ChildProcess } from "node:child_process";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { Readable } from "node:stream";

export interface MachineInfo {
  node: string;
  cpu: string;
  cores: number;
  total_memory_mb: number;
  platform: string;
}

export interface Percentiles {
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
}

export interface Timing extends Percentiles {
  iterations: number;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    node: process.version,
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    total_memory_mb: Math.round(os.totalmem() / 2 ** 20),
    platform: `${process.platform}-${process.arch}`,
  };
}

/**
 * Nearest-rank percentile `p` (0 to 100; 0 is the minimum) of the samples, rounded to 3 decimals;
 * the samples are not modified.
 */
function ranker(samples: readonly number[]): (p: number) => number {
  if (samples.length === 0) throw new RangeError("percentiles of no samples");
  const sorted = [...samples].sort((a, b) => a - b);
  return (p) => {
    const value = sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
    return Math.round(value * 1000) / 1000;
  };
}

/** Nearest-rank percentiles, rounded to microseconds; the samples are not modified. */
export function percentiles(samplesMs: readonly number[]): Percentiles {
  const rank = ranker(samplesMs);
  return { p50_ms: rank(50), p90_ms: rank(90), p99_ms: rank(99), max_ms: rank(100) };
}

/** The same for samples in another unit (seconds, MB/s), with the minimum: the worst of a rate. */
export function spread(samples: readonly number[]): { min: number; p50: number; p90: number; max: number } {
  const rank = ranker(samples);
  return { min: rank(0), p50: rank(50), p90: rank(90), max: rank(100) };
}

/**
 * Runs `fn` `warmup` times untimed (so the JIT has compiled it), then `iterations` times timed
 * one call at a time. Synchronous work only.
 */
export function timeIt(fn: () => unknown, options: { warmup: number; iterations: number }): Timing {
  for (let i = 0; i < options.warmup; i++) fn();
  const samples: number[] = [];
  for (let i = 0; i < options.iterations; i++) {
    const start = performance.now();
    fn();
    samples.push(performance.now() - start);
  }
  return { iterations: options.iterations, ...percentiles(samples) };
}

/** SIGTERM to a child process that may already have exited, and wait for it to go. */
export async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

/** Socket-sized: what randomStream hands out at a time. */
const CHUNK_BYTES = 64 * 1024;

/** `bytes` of random data, as a stream of socket-sized chunks out of one random pool (MinIO neither compresses nor dedupes). */
export function randomStream(pool: Buffer, bytes: number): Readable {
  let sent = 0;
  let offset = 0;
  return new Readable({
    read() {
      if (sent >= bytes) {
        this.push(null);
        return;
      }
      const n = Math.min(CHUNK_BYTES, bytes - sent);
      if (offset + n > pool.length) offset = (offset + 4099) % (pool.length - CHUNK_BYTES);
      this.push(pool.subarray(offset, offset + n));
      offset += n;
      sent += n;
    },
  });
}

/** Reads a stream to its end and throws the bytes away; returns how many. */
export async function drain(stream: Readable): Promise<number> {
  let bytes = 0;
  for await (const chunk of stream) bytes += (chunk as Buffer).length;
  return bytes;
}
