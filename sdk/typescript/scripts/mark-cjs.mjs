// dist/cjs holds CommonJS while the package says "type": "module": tell Node so.
import { writeFileSync } from "node:fs";

writeFileSync(new URL("../dist/cjs/package.json", import.meta.url), '{"type": "commonjs"}\n');
