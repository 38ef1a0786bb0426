/**
 * Contract tests of how a MySQL site's dump is loaded for its verification
 * (shared/backup/mysql-load.ts): no MySQL server or MySQL Shell runs here, so the server's
 * arguments and MySQL Shell's program are spelled out literally.
 */
import { describe, expect, it } from "vitest";
import { loadProgram, mysqldInitializeArgs, mysqldScratchArgs } from "../../../shared/backup/mysql-load.js";

const FILES = { datadir: "/work/verify/server", socket: "/work/verify/mysqld.sock", pidFile: "/work/verify/mysqld.pid", errorLog: "/work/verify/mysqld.err", port: 3306 };

describe("MySQL dump load: contract", () => {
  it("initializes an empty datadir whose root has no password, without reading any option file", () => {
    expect(mysqldInitializeArgs(FILES, false)).toEqual(["--no-defaults", "--initialize-insecure", "--datadir=/work/verify/server", "--log-error=/work/verify/mysqld.err", "--secure-file-priv=NULL"]);
    expect(mysqldInitializeArgs(FILES, true).at(-1)).toBe("--user=root");
  });

  it("runs the server on loopback with GTIDs and local_infile on, no binary log, no X Protocol, no Performance Schema, no server-side file access", () => {
    expect(mysqldScratchArgs(FILES, false)).toEqual([
      "--no-defaults",
      "--datadir=/work/verify/server",
      "--socket=/work/verify/mysqld.sock",
      "--pid-file=/work/verify/mysqld.pid",
      "--log-error=/work/verify/mysqld.err",
      "--bind-address=127.0.0.1",
      "--port=3306",
      "--skip-name-resolve",
      "--mysqlx=OFF",
      "--disable-log-bin",
      "--gtid-mode=ON",
      "--enforce-gtid-consistency=ON",
      "--local-infile=ON",
      "--performance-schema=OFF",
      "--secure-file-priv=NULL",
    ]);
    expect(mysqldScratchArgs(FILES, true).at(-1)).toBe("--user=root");
  });

  it("loads the dump as root over the socket, replacing gtid_purged, nothing binary-logged, no accounts, no progress file", () => {
    expect(loadProgram({ dumpDir: "/work/verify/data", target: { socket: "/work/verify/mysqld.sock" } })).toBe(
      [
        "shell.connect({ scheme: 'mysql', user: 'root', password: '', socket: \"/work/verify/mysqld.sock\" });",
        'util.loadDump("/work/verify/data", {"threads":4,"updateGtidSet":"replace","skipBinlog":true,"loadUsers":false,"showProgress":false,"progressFile":""});',
        "",
      ].join("\n"),
    );
    // A quote in a path ends no string.
    expect(loadProgram({ dumpDir: '/w/"); util.dropSchema("x', target: { socket: "/s" } })).toContain('util.loadDump("/w/\\"); util.dropSchema(\\"x", ');
  });

  it("loads into a site's server over TCP with the operator account read from its files, the password never in the program", () => {
    const text = loadProgram({ dumpDir: "/work/restore/dump", target: { host: "mysql-orders-iad.shop.svc", port: 3306, userFile: "/etc/bloodraven/operator/username", passwordFile: "/etc/bloodraven/operator/password" } });
    expect(text.split("\n")).toEqual([
      "const chomp = (text) => text.replace(/\\r?\\n$/, '');",
      'const user = chomp(os.loadTextFile("/etc/bloodraven/operator/username"));',
      'const password = chomp(os.loadTextFile("/etc/bloodraven/operator/password"));',
      "shell.connect({ scheme: 'mysql', host: \"mysql-orders-iad.shop.svc\", port: 3306, user: user, password: password });",
      'util.loadDump("/work/restore/dump", {"threads":4,"updateGtidSet":"replace","skipBinlog":true,"loadUsers":false,"showProgress":false,"progressFile":""});',
      "",
    ]);
  });
});

