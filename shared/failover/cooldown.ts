/**
 * The anti-flap cooldown: no failover, emergency or planned, within `cooldownMs` of the last one.
 * The one copy of the rule that the emergency core, the switchover's validation and the plugin's
 * status read.
 */
export type Cooldown =
  /** No failover recorded, or the cooldown has run out. */
  | { active: false }
  /** A recorded time that cannot be read: the cooldown cannot be proven over. */
  | { active: true; unreadable: true }
  | { active: true; unreadable: false; untilMs: number };

export function cooldown(lastFailover: string | undefined, cooldownMs: number, nowMs: number): Cooldown {
  if (lastFailover === undefined) return { active: false };
  const last = Date.parse(lastFailover);
  if (Number.isNaN(last)) return { active: true, unreadable: true };
  const untilMs = last + cooldownMs;
  return nowMs < untilMs ? { active: true, unreadable: false, untilMs } : { active: false };
}
