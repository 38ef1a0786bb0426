/**
 * Structured JSON logs: one line per event with a stable `msg` (see LOG_MESSAGES in
 * shared/log-messages.ts and docs/log-schema.md) and context fields such as group, namespace and
 * site. Secrets never reach a log line: fields whose name says password/token/secret are masked.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_FIELD = /pass(word)?|token|secret|dsn|authorization/i;

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export function createLogger(opts: { level?: LogLevel; write?: (line: string) => void; base?: LogFields } = {}): Logger {
  const min = RANK[opts.level ?? "info"];
  const write = opts.write ?? ((line: string) => process.stdout.write(line));
  const make = (base: LogFields): Logger => {
    const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
      if (RANK[level] < min) return;
      const record: LogFields = { time: new Date().toISOString(), level: level.toUpperCase(), msg, ...base, ...fields };
      write(`${JSON.stringify(record, redact)}\n`);
    };
    return {
      debug: (m, f) => emit("debug", m, f),
      info: (m, f) => emit("info", m, f),
      warn: (m, f) => emit("warn", m, f),
      error: (m, f) => emit("error", m, f),
      child: (f) => make({ ...base, ...f }),
    };
  };
  return make(opts.base ?? {});
}

function redact(key: string, value: unknown): unknown {
  if (key !== "" && SECRET_FIELD.test(key) && value !== undefined && value !== null && value !== "") return "[redacted]";
  if (value instanceof Error) return { message: value.message, code: (value as NodeJS.ErrnoException).code };
  return value;
}
