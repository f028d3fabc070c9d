import { execa } from "execa";

/** One command: an argv array (never a shell string) and optional standard input. */
export interface Command {
  argv: readonly string[];
  /** Text fed to the command's standard input (for `ip -batch -`, `iptables-restore`). */
  input?: string;
  /** Overrides the runner's default timeout for this command. */
  timeoutMs?: number;
}

export interface CommandResult {
  stdout: string;
  stderr: string;
}

/** A command that exited non-zero, timed out or could not start; carries its output. */
export class CommandError extends Error {
  constructor(
    public readonly argv: readonly string[],
    public readonly exitCode: number | undefined,
    public readonly stdout: string,
    public readonly stderr: string,
    public readonly timedOut: boolean,
  ) {
    const why = timedOut ? "timed out" : exitCode === undefined ? "could not start" : `exited with ${exitCode}`;
    super(`${argv.join(" ")} ${why}${stderr ? `: ${stderr.trim()}` : ""}`);
    this.name = "CommandError";
  }
}

/** Runs commands. The only door through which nslab touches the host. */
export interface Runner {
  run(command: Command): Promise<CommandResult>;
}

/** Checks that a command is a plain argv: non-empty strings without NUL bytes. */
export function assertArgv(argv: readonly string[]): void {
  if (argv.length === 0) throw new TypeError("empty argv");
  for (const arg of argv) {
    if (typeof arg !== "string") throw new TypeError("argv holds a non-string");
    if (arg.includes("\0")) throw new TypeError("argv holds a NUL byte");
  }
}

/**
 * The real runner: execa with `shell: false`, one command at a time (a serialized
 * queue, so two changes never interleave on the host), a timeout per command that
 * kills it (TERM, then KILL), and stdout/stderr kept in the error on failure.
 */
export class ExecaRunner implements Runner {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly defaultTimeoutMs = 30_000) {}

  run(command: Command): Promise<CommandResult> {
    assertArgv(command.argv);
    const next = this.tail.then(() => this.execute(command));
    // The queue goes on after a failure; the caller still sees the rejection.
    this.tail = next.catch(() => undefined);
    return next;
  }

  private async execute(command: Command): Promise<CommandResult> {
    const [file, ...args] = command.argv;
    const result = await execa(file!, args, {
      shell: false,
      reject: false,
      input: command.input,
      stdin: command.input === undefined ? "ignore" : undefined,
      timeout: command.timeoutMs ?? this.defaultTimeoutMs,
      forceKillAfterDelay: 2_000,
      stripFinalNewline: false,
      env: { LC_ALL: "C" },
      extendEnv: true,
      maxBuffer: 256 * 1024 * 1024,
    });
    const stdout = String(result.stdout ?? "");
    const stderr = String(result.stderr ?? "");
    if (result.failed) {
      throw new CommandError(command.argv, result.exitCode, stdout, stderr || (result.cause as Error | undefined)?.message || "", Boolean(result.timedOut));
    }
    return { stdout, stderr };
  }
}

/** What a fake runner answers for one command. */
export type FakeAnswer = CommandResult | CommandError | undefined;

/**
 * A runner for pure tests: it runs nothing, records every command in `log`, and
 * answers from `respond` (default: empty success).
 */
export class FakeRunner implements Runner {
  readonly log: Command[] = [];

  constructor(private readonly respond: (command: Command, index: number) => FakeAnswer = () => undefined) {}

  async run(command: Command): Promise<CommandResult> {
    assertArgv(command.argv);
    this.log.push(command);
    const answer = this.respond(command, this.log.length - 1);
    if (answer instanceof CommandError) throw answer;
    return answer ?? { stdout: "", stderr: "" };
  }
}
