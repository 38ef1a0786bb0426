/**
 * The login options the database's command-line tools read from a file (`--defaults-file`,
 * `--defaults-extra-file`), so that a password never shows in `ps`. Values are double-quoted with
 * `\` and `"` escaped, as option files allow: a password with `#` (a comment otherwise), quotes
 * or spaces is read as written.
 */
export interface Login {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
}

const quoted = (value: string): string => {
  if (/[\r\n]/.test(value)) throw new Error("a login value with a line break cannot go in an option file");
  return `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
};

export function loginOptions(section: string, login: Login): string {
  return `[${section}]\nhost=${quoted(login.host)}\nport=${login.port}\nuser=${quoted(login.user)}\npassword=${quoted(login.password)}\n`;
}
