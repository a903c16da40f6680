// The TypeScript SDK's answers to bad input, one line each: node ts_bad_input.mjs URL KEY MODE
// - refused: a wrong key, a bad name, then a good registration;
// - unreachable: URL has nothing listening; then a URL that is not http(s).
import { OrraError, Service } from "../../sdk/typescript/dist/esm/index.js";

const [url, apiKey, mode] = process.argv.slice(2);
const make = (name, key, at = url) =>
  new Service({ name, apiKey: key, url: at, description: "Echoes", handler: (x) => x, logger: false });
const said = (error) => `${error.name} ${error.code}: ${error.message}`;

if (mode === "refused") {
  try {
    await make("echo", "sk-orra-v1-wrong").start();
  } catch (error) {
    console.log(`refused ${error instanceof OrraError} ${error.name} ${error.code}`);
  }
  try {
    make("Echo Service", apiKey);
  } catch (error) {
    console.log(`name ${said(error)}`);
  }
  const good = await make("x".repeat(20), apiKey).start();
  console.log(`ok ${good.id}`);
  await good.close();
} else {
  const service = make("echo", "sk-orra-v1-any");
  service.start().catch((error) => console.log(`start failed ${error.code}`));
  try {
    await service.waitConnected(1500);
  } catch (error) {
    console.log(said(error));
  }
  await service.close({ timeoutMs: 100 });
  try {
    make("echo", "k", "localhost:8005");
  } catch (error) {
    console.log(said(error));
  }
}
