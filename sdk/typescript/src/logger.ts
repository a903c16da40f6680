/** Where the SDK says what it does. It configures nothing global: pass your own or `false`. */

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const LEVELS = ["debug", "info", "warn", "error"] as const;
export type Level = (typeof LEVELS)[number];

/** Lines on stderr at `level` and above (default: `ORRA_LOG_LEVEL`, else "info"). */
export function consoleLogger(level?: Level): Logger {
  const wanted = level ?? (process.env.ORRA_LOG_LEVEL as Level | undefined) ?? "info";
  const from = Math.max(0, LEVELS.indexOf(wanted));
  const at =
    (index: number) =>
    (message: string): void => {
      if (index >= from) console.error(`[orra] ${LEVELS[index]}: ${message}`);
    };
  return { debug: at(0), info: at(1), warn: at(2), error: at(3) };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
