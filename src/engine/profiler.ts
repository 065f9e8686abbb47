// Per-dispatch GPU time. With `timestamp-query` each profiled dispatch gets its own compute pass with
// begin/end timestamps; without it, each dispatch is submitted alone and timed on the CPU (wall time,
// which includes submission overhead — reported as such).

export interface KernelRecord {
  label: string;
  kernel: string;
  flops: number;
  bytes: number;
  ms: number;
  startMs?: number;
}

export interface KernelSummary {
  kernel: string;
  calls: number;
  ms: number;
  flops: number;
  bytes: number;
}

export function summarize(records: KernelRecord[]): KernelSummary[] {
  const by = new Map<string, KernelSummary>();
  for (const r of records) {
    let s = by.get(r.kernel);
    if (!s) by.set(r.kernel, (s = { kernel: r.kernel, calls: 0, ms: 0, flops: 0, bytes: 0 }));
    s.calls++;
    s.ms += r.ms;
    s.flops += r.flops;
    s.bytes += r.bytes;
  }
  return [...by.values()].sort((a, b) => b.ms - a.ms);
}

export function formatKernelTable(records: KernelRecord[], title = 'per-kernel GPU time'): string {
  const rows = summarize(records);
  const total = rows.reduce((a, r) => a + r.ms, 0);
  const lines = [
    `${title} (total ${total.toFixed(2)} ms)`,
    `${'kernel'.padEnd(44)} ${'calls'.padStart(6)} ${'ms'.padStart(9)} ${'share'.padStart(6)} ${'GFLOP/s'.padStart(9)} ${'GB/s'.padStart(8)}`,
  ];
  for (const r of rows) {
    const s = r.ms / 1000;
    lines.push(
      `${r.kernel.slice(0, 44).padEnd(44)} ${String(r.calls).padStart(6)} ${r.ms.toFixed(3).padStart(9)} ${((100 * r.ms) / (total || 1)).toFixed(1).padStart(5)}% ` +
        `${(r.flops ? r.flops / s / 1e9 : 0).toFixed(2).padStart(9)} ${(r.bytes ? r.bytes / s / 1e9 : 0).toFixed(2).padStart(8)}`,
    );
  }
  return lines.join('\n');
}

/** Chrome trace (Perfetto-compatible) of profiled records. */
export function chromeTrace(records: KernelRecord[]): object {
  let t = 0;
  const events = records.map((r) => {
    const ts = r.startMs ?? t;
    t = ts + r.ms;
    return {
      name: r.kernel,
      cat: 'gpu',
      ph: 'X',
      ts: ts * 1000,
      dur: r.ms * 1000,
      pid: 1,
      tid: 1,
      args: { label: r.label, flops: r.flops, bytes: r.bytes },
    };
  });
  return { traceEvents: events, displayTimeUnit: 'ms' };
}
