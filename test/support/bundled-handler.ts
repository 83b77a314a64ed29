/**
 * The scanner exactly as it ships: the stack is synthesized with bundling on (esbuild, the NodejsFunction
 * options of `lib/scanner.ts`), and the bundle runs in its own Node process, as a Lambda execution
 * environment would: configuration read at cold start, then one invocation after another.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { ScannerEnv } from '../../lambda/contract';
import { DkimSentinelStack } from '../../lib/dkim-sentinel-stack';

/** The bundled scanner and the environment the stack gives it. */
export interface ScannerBundle {
  /** The asset folder holding `index.js` and `index.js.map`. */
  readonly directory: string;
  /** The function's environment variables as synthesized; values that are CloudFormation tokens are left out. */
  readonly environment: Readonly<Record<string, string>>;
  /** Remove the cloud assembly. */
  remove(): void;
}

/** Synthesize the stack with bundling on and find the scanner's asset and environment. */
export function bundleScanner(account: string, region: string): ScannerBundle {
  const outdir = mkdtempSync(join(tmpdir(), 'cdk-e2e-'));
  try {
    const app = new App({ outdir });
    const stack = new DkimSentinelStack(app, 'E2e', { env: { account, region } });
    const assembly = app.synth();
    const template = assembly.getStackByName(stack.stackName).template as {
      Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
    };
    const scanner = Object.values(template.Resources).find(
      (r) =>
        r.Type === 'AWS::Lambda::Function' &&
        ScannerEnv.Regions in
          (((r.Properties?.Environment as { Variables?: object } | undefined)?.Variables ?? {}) as object),
    );
    if (!scanner?.Properties) throw new Error('the synthesized stack has no scanner function');
    const code = scanner.Properties.Code as { S3Key?: unknown };
    const hash = String(code.S3Key ?? '').replace(/\.zip$/, '');
    const directory = join(assembly.directory, `asset.${hash}`);
    if (!readdirSync(directory).includes('index.js')) throw new Error(`no index.js in ${directory}`);
    const variables = (scanner.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    const environment = Object.fromEntries(
      Object.entries(variables).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
    );
    return { directory, environment, remove: () => rmSync(outdir, { recursive: true, force: true }) };
  } catch (error) {
    rmSync(outdir, { recursive: true, force: true });
    throw error;
  }
}

/** What one invocation returned or threw (an error arrives as its name, message and stack). */
export type InvocationOutcome =
  | { readonly ok: true; readonly result: unknown }
  | {
      readonly ok: false;
      readonly error: { readonly name: string; readonly message: string; readonly stack?: string };
    };

// Runs inside the execution environment: loads the bundle (the cold start) and answers invocations.
const RUNNER = `
let handler;
let coldStartError;
try {
  handler = require(process.argv[2]).handler;
} catch (error) {
  coldStartError = error;
}
const describe = (error) => ({ name: error?.name ?? 'Error', message: String(error?.message ?? error), stack: error?.stack });
process.on('message', async ({ event, requestId, functionArn }) => {
  if (coldStartError) return process.send({ ok: false, error: describe(coldStartError) });
  const deadline = Date.now() + 15 * 60_000;
  const context = {
    awsRequestId: requestId,
    invokedFunctionArn: functionArn,
    functionName: functionArn.split(':')[6],
    functionVersion: '$LATEST',
    memoryLimitInMB: '512',
    logGroupName: '/aws/lambda/' + functionArn.split(':')[6],
    logStreamName: 'e2e',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done() {}, fail() {}, succeed() {},
  };
  try {
    process.send({ ok: true, result: await handler(event, context) });
  } catch (error) {
    process.send({ ok: false, error: describe(error) });
  }
});
`;

/** What the Lambda runtime itself sets (Powertools reads some: without the initialization type, no cold start). */
function lambdaRuntimeVariables(functionArn: string): Record<string, string> {
  const [, , , region = '', , , name = ''] = functionArn.split(':');
  return {
    AWS_LAMBDA_FUNCTION_NAME: name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
  };
}

/** The JSON lines an execution environment wrote (structured logs and EMF metrics), parsed. */
export function logLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** One execution environment of the bundled scanner: a Node process that stays warm between invocations. */
export class ScannerEnvironment {
  /** Everything the function wrote (its structured logs and EMF metrics). */
  output = '';
  private readonly child: ChildProcess;
  private readonly runnerDir: string;

  constructor(
    bundle: ScannerBundle,
    env: Readonly<Record<string, string>>,
    private readonly functionArn: string,
  ) {
    this.runnerDir = mkdtempSync(join(tmpdir(), 'scanner-env-'));
    const runner = join(this.runnerDir, 'runner.js');
    writeFileSync(runner, RUNNER);
    this.child = fork(runner, [join(bundle.directory, 'index.js')], {
      env: { PATH: process.env.PATH ?? '', ...lambdaRuntimeVariables(functionArn), ...env },
      // Not the test runner's flags: the function's own NODE_OPTIONS (--enable-source-maps) are in env.
      execArgv: [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    running.add(this.child);
    this.child.once('exit', () => running.delete(this.child));
    const keep = (chunk: Buffer) => {
      this.output += chunk.toString();
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
  }

  /** Invoke the handler once with this request id, as Lambda would. */
  invoke(event: unknown, requestId: string): Promise<InvocationOutcome> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) =>
        reject(new Error(`the scanner process exited (${code}) during an invocation:\n${this.output.slice(-3000)}`));
      this.child.once('exit', onExit);
      this.child.once('message', (outcome) => {
        this.child.off('exit', onExit);
        resolve(outcome as InvocationOutcome);
      });
      this.child.send({ event, requestId, functionArn: this.functionArn });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.runnerDir, { recursive: true, force: true });
  }
}
