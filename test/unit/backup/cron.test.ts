import { describe, expect, it } from "vitest";
import { checkCron } from "../../../shared/backup/cron.js";

describe("checkCron", () => {
  it.each(["* * * * *", "*/15 2-5 * * mon-fri", "0 3 1,15 * ?", "30 4 ? JAN-MAR 0", "@daily", "@HOURLY", "0 0 29 2 *", "5-59/10 * * * *"])("accepts %s", (expr) => {
    expect(checkCron(expr)).toEqual({ ok: true, value: expr });
  });

  it.each([
    ["* * * *", /4 field\(s\); a schedule has five/],
    ["60 * * * *", /field 1 \(minute\).*60 is outside 0-59/],
    ["0 24 * * *", /field 2 \(hour\).*24 is outside 0-23/],
    ["0 0 0 * *", /field 3 \(day of month\).*0 is outside 1-31/],
    ["0 0 * foo *", /field 4 \(month\).*"foo" is not a number or a name \(jan…dec\)/],
    ["0 0 * * 7", /field 5 \(day of week\).*7 is outside 0-6/],
    ["? * * * *", /field 1 \(minute\).*"\?" is not a number/],
    ["*/0 * * * *", /step .* must be a positive number/],
    ["5-1 * * * *", /runs backwards/],
    ["1,,2 * * * *", /empty list item/],
    ["@every 5m", /not a descriptor/],
    ["TZ=UTC 0 * * * *", /timeZone field/],
  ])("refuses %s naming the field", (expr, error) => {
    const result = checkCron(expr);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(error);
  });
});
