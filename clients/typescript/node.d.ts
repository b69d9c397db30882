// The little of Node that client.ts uses (the project installs no @types/node).
declare module "node:fs" {
  export function readFileSync(path: string, encoding: "utf8"): string;
}

declare const process: {
  readonly argv: readonly string[];
  exitCode: number | undefined;
  readonly stdout: { write(text: string): boolean };
  readonly stderr: { write(text: string): boolean };
};
