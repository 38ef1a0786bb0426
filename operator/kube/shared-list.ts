/**
 * One LIST answers every group of a namespace that asks within `maxAgeMs` of it, and a LIST in
 * flight answers every group that asks meanwhile. Each group's worker lists its namespace's
 * MysqlBackups and MysqlBackupVerifications to find its own: a thousand groups in one namespace
 * would otherwise send a thousand identical requests at every operator start and again every
 * minute (bench:scale, docs/benchmarks.md). A failed LIST is not kept. The answer is shared:
 * callers read it and never change it.
 */
export class SharedList<T> {
  private readonly answers = new Map<string, { at: number; answer: Promise<T> }>();

  constructor(
    private readonly list: (namespace: string) => Promise<T>,
    private readonly maxAgeMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get(namespace: string): Promise<T> {
    const kept = this.answers.get(namespace);
    if (kept && this.now() - kept.at < this.maxAgeMs) return kept.answer;
    const entry = { at: this.now(), answer: this.list(namespace) };
    this.answers.set(namespace, entry);
    entry.answer.catch(() => {
      if (this.answers.get(namespace) === entry) this.answers.delete(namespace);
    });
    return entry.answer;
  }
}
