/** Error text for a log field or a status message, never a stack. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
