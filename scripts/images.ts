// `npm run images`: builds (or finds in the cache) the test cluster's images and prints their tarballs.
import { ensureImages } from "./images/images.js";

const tarballs = ensureImages((line) => process.stderr.write(`${line}\n`));
for (const [name, path] of Object.entries(tarballs)) process.stdout.write(`${name}\t${path}\n`);
