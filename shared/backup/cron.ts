/**
 * Checks a schedule before it becomes a CronJob's, with an error that names the field and the
 * value: the API server's own answer to a bad schedule is a rejected CronJob that the user never
 * sees. The grammar is the one Kubernetes CronJobs accept: five fields (minute, hour, day of
 * month, month, day of week) of `*`, `?` (the two day fields), numbers, names (months, weekdays),
 * ranges `a-b`, steps `/n` and lists `,`; or one of the @-descriptors.
 */
import type { ParseResult as Parsed } from "../annotations.js";

const DESCRIPTORS = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

interface Field {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Names standing for numbers, the first for `min`. */
  readonly names?: readonly string[];
  readonly question?: boolean;
}

const FIELDS: readonly Field[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31, question: true },
  { name: "month", min: 1, max: 12, names: MONTHS },
  { name: "day of week", min: 0, max: 6, names: WEEKDAYS, question: true },
];

function value(field: Field, text: string): number | string {
  const named = field.names?.indexOf(text.toLowerCase()) ?? -1;
  if (named >= 0) return field.min + named;
  if (!/^\d+$/.test(text)) return `"${text}" is not a number${field.names ? ` or a name (${field.names[0]}…${field.names[field.names.length - 1]})` : ""}`;
  const n = Number(text);
  return n < field.min || n > field.max ? `${n} is outside ${field.min}-${field.max}` : n;
}

function itemError(field: Field, item: string): string | undefined {
  const [range = "", step, extra] = item.split("/");
  if (extra !== undefined) return `"${item}" has more than one /`;
  if (step !== undefined && !/^[1-9]\d*$/.test(step)) return `the step in "${item}" must be a positive number`;
  if (range === "*" || (range === "?" && field.question)) return undefined;
  const [from = "", to, more] = range.split("-");
  if (more !== undefined) return `"${range}" has more than one -`;
  const a = value(field, from);
  if (typeof a === "string") return a;
  if (to === undefined) return undefined;
  const b = value(field, to);
  if (typeof b === "string") return b;
  return a > b ? `the range "${range}" runs backwards` : undefined;
}

/** The schedule as given when it is valid; otherwise what is wrong, naming the field. */
export function checkCron(schedule: string): Parsed<string> {
  const text = schedule.trim();
  if (text.startsWith("@")) {
    return DESCRIPTORS.includes(text.toLowerCase()) ? { ok: true, value: text } : { ok: false, error: `"${text}" is not a descriptor: use one of ${DESCRIPTORS.join(", ")} or five fields` };
  }
  if (/^(CRON_)?TZ=/.test(text)) return { ok: false, error: "a time zone goes in the schedule's timeZone field, not in the expression" };
  const parts = text.split(/\s+/);
  if (parts.length !== FIELDS.length) return { ok: false, error: `"${text}" has ${parts.length} field(s); a schedule has five: minute hour day-of-month month day-of-week` };
  for (const [i, field] of FIELDS.entries()) {
    for (const item of (parts[i] as string).split(",")) {
      const error = item === "" ? "an empty list item" : itemError(field, item);
      if (error) return { ok: false, error: `field ${i + 1} (${field.name}) of "${text}": ${error}` };
    }
  }
  return { ok: true, value: text };
}
