/**
 * A recording fake session for the contract tests of the MySQL statements: canned rows in,
 * every statement sent recorded.
 */
import { ServerError, type QueryOptions, type Row, type Session } from "../../../operator/mysql/flavor.js";

type Reply = Row[] | Error;

/** A list of replies rather than one reply's rows: its elements are row lists or errors. */
const isReplyList = (value: Reply | Reply[]): value is Reply[] =>
  Array.isArray(value) && value.length > 0 && value.every((r) => Array.isArray(r) || r instanceof Error);

/**
 * Answers each statement with the replies scripted for the first matching prefix, in order,
 * repeating the last one; unscripted statements get no rows. Records every statement.
 */
export class RecordingSession implements Session {
  readonly endpoint = "db-0.example:3306";
  readonly statements: string[] = [];
  readonly timeouts: (number | undefined)[] = [];
  private readonly script: [string, Reply[]][];

  constructor(
    script: Record<string, Reply | Reply[]> = {},
    private readonly left = Infinity,
  ) {
    this.script = Object.entries(script).map(([prefix, reply]) => [prefix, isReplyList(reply) ? [...reply] : [reply]]);
  }

  async query(sql: string, opts?: QueryOptions): Promise<Row[]> {
    this.statements.push(sql);
    this.timeouts.push(opts?.timeoutMs);
    const entry = this.script.find(([prefix]) => sql.startsWith(prefix));
    if (entry === undefined) return [];
    const replies = entry[1];
    const reply = replies.length > 1 ? replies.shift()! : replies[0]!;
    if (reply instanceof Error) throw reply;
    return reply;
  }

  remainingMs(): number {
    return this.left;
  }
}

export const refusal = (statement: string, errno: number, code: string): ServerError =>
  new ServerError("db-0.example:3306", statement, errno, "HY000", code, `refused with ${code}`);
