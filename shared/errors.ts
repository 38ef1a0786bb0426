/** Error text for a log field or a status message, never a stack. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `text` with every occurrence of `secret` replaced, for errors that may quote a statement. */
export function redacted(text: string, secret: string): string {
  return secret === "" ? text : text.replaceAll(secret, "<password>");
}
