/**
 * `dvload`: the app's HTTP API from a terminal or a script. Global options go before the command
 * (`dvload --key K load f.csv --table account --key accountnumber`: the first --key is the function key, the
 * second the load's alternate key). Exit codes: 0 succeeded, 2 partially succeeded, 1 failed or an error.
 */
import { openAsBlob } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ApiError, contentTypeForFile, createApiClient, formatForFile, type ApiClient } from './apiClient';
import {
  followJob,
  followLoad,
  followPlan,
  printFailedRows,
  printJob,
  printList,
  printLoad,
  printPlan,
  saveFailedRows,
  type CliContext,
  type GlobalOptions,
  type Io,
} from './output';

export const exitCodeOf = (state: string): number =>
  state === 'succeeded' ? 0 : state === 'partiallySucceeded' ? 2 : 1;

const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
};

async function fileBlob(path: string, what: string): Promise<Blob> {
  try {
    return await openAsBlob(path);
  } catch (error) {
    throw new ApiError('FileUnreadable', `${what} '${path}' cannot be read: ${(error as Error).message}`, 0);
  }
}

async function jsonFileText(path: string, what: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ApiError('FileUnreadable', `${what} '${path}' cannot be read: ${(error as Error).message}`, 0);
  }
  try {
    return JSON.stringify(JSON.parse(text));
  } catch (error) {
    throw new ApiError('InvalidJson', `${what} '${path}' is not JSON: ${(error as Error).message}`, 0);
  }
}

/** The program, writing to `io` and setting `io.exitCode`; dvload.ts runs it on process.argv. */
export function createProgram(io: Io): Command {
  const program = new Command('dvload')
    .description("Load files into Dataverse and follow loads and imports through the app's HTTP API")
    .enablePositionalOptions()
    .addOption(new Option('--api <url>', 'base URL of the API').env('DVLOAD_API').default('http://127.0.0.1:7071/api'))
    .addOption(new Option('--key <functionKey>', 'function key (x-functions-key)').env('DVLOAD_KEY'))
    .option('--json', 'print JSON (one document) instead of text')
    .option('--progress', 'show the progress bar even when stderr is not a terminal')
    .option('--no-progress', 'never show the progress bar')
    .addOption(new Option('--interval <ms>', 'poll interval').argParser(positiveInt).default(1000))
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride();

  const context = (): CliContext => {
    const options = program.opts<GlobalOptions>();
    const client: ApiClient = createApiClient({ baseUrl: options.api, ...(options.key ? { key: options.key } : {}) });
    // Commander's --progress / --no-progress: undefined means "when stderr is a terminal".
    const showProgress = !options.json && (options.progress ?? io.stderr.isTTY === true);
    return { client, options, showProgress, io };
  };

  program
    .command('load')
    .description('upload a file, then follow the load until it ends')
    .argument('<file>', 'CSV, TSV, JSON, NDJSON (optionally .gz) or .xlsx file')
    .requiredOption('--table <table>', 'table logical name, e.g. account')
    .option('--profile <profile.json>', 'load profile (operation, alternateKey, columns, lookups...)')
    .option('--operation <operation>', 'create, update, upsert or delete')
    .option('--key <alternateKey>', "alternate key name or its columns (comma-separated), e.g. 'accountnumber'")
    .option('--format <format>', 'csv, tsv, json, ndjson or xlsx, when the file name does not say')
    .option('--no-wait', 'print the id and return without following the load')
    .action(async (file: string, opts: Record<string, string | boolean | undefined>) => {
      const ctx = context();
      const format = (opts.format as string | undefined) ?? formatForFile(file);
      const contentType = contentTypeForFile(file);
      if (!contentType && !format)
        throw new ApiError(
          'UnknownFormat',
          `cannot tell the format of '${file}': add --format csv|tsv|json|ndjson|xlsx`,
          0,
        );
      const accepted = await ctx.client.submitLoad({
        table: opts.table as string,
        body: await fileBlob(file, 'the file'),
        contentType: contentType ?? 'application/octet-stream',
        query: {
          operation: opts.operation as string | undefined,
          key: opts.key as string | undefined,
          format,
          ...(opts.profile ? { profile: await jsonFileText(opts.profile as string, 'the profile') } : {}),
        },
      });
      if (opts.wait === false) return printAccepted(ctx.io, accepted, ctx.options.json);
      if (!ctx.options.json)
        io.stderr.write(`load ${accepted.id} accepted (${basename(file)} → ${String(opts.table)})\n`);
      await followLoadToEnd(ctx, accepted.id);
    });

  program
    .command('plan')
    .description('upload a plan (several tables as one unit), then follow it until every table is loaded')
    .argument('<file>', 'a zip of files, one per table (optional plan.json), or an .xlsx workbook, one sheet per table')
    .option('--format <format>', 'zip or xlsx, when the file name does not say')
    .option('--wait', 'follow the plan until it ends (the default)')
    .option('--no-wait', 'print the id and return without following the plan')
    .action(async (file: string, opts: { format?: string; wait?: boolean }) => {
      const ctx = context();
      const format = opts.format ?? /\.(zip|xlsx)$/i.exec(file)?.[1]?.toLowerCase();
      if (format !== 'zip' && format !== 'xlsx')
        throw new ApiError(
          'UnknownFormat',
          opts.format
            ? `--format ${opts.format} is not a plan format: zip or xlsx`
            : `cannot tell the format of '${file}': add --format zip|xlsx`,
          0,
        );
      const accepted = await ctx.client.submitPlan(await fileBlob(file, 'the plan'), format);
      if (opts.wait === false) return printAccepted(ctx.io, accepted, ctx.options.json);
      if (!ctx.options.json) io.stderr.write(`plan ${accepted.id} accepted (${basename(file)})\n`);
      const plan = await followPlan(ctx, accepted.id);
      printPlan(io, plan, ctx.options.json);
      io.exitCode = exitCodeOf(plan.status);
    });

  program
    .command('import')
    .description('upload a solution zip, then follow the import until it ends')
    .argument('<solution.zip>', 'solution file')
    .option('--stage-and-upgrade', 'import as a holding solution and upgrade (StageAndUpgradeAsync)')
    .option('--settings <settings.json>', 'deployment settings (connection references, environment variables)')
    .option('--overwrite-unmanaged-customizations', 'overwrite unmanaged customizations')
    .option('--no-publish-workflows', 'leave workflows as they are (published by default)')
    .option('--holding-solution', 'import as a holding solution')
    .option('--convert-to-managed', 'convert to managed')
    .option('--skip-product-update-dependencies', 'skip product update dependencies')
    .option('--no-wait', 'print the id and return without following the job')
    .action(async (zip: string, opts: Record<string, string | boolean | undefined>) => {
      const ctx = context();
      const flag = (name: string) => (opts[name] === undefined ? undefined : String(opts[name]));
      const accepted = await ctx.client.submitImport(await fileBlob(zip, 'the solution'), {
        stageAndUpgrade: flag('stageAndUpgrade'),
        overwriteUnmanagedCustomizations: flag('overwriteUnmanagedCustomizations'),
        publishWorkflows: flag('publishWorkflows'),
        holdingSolution: flag('holdingSolution'),
        convertToManaged: flag('convertToManaged'),
        skipProductUpdateDependencies: flag('skipProductUpdateDependencies'),
        ...(opts.settings ? { settings: await jsonFileText(opts.settings as string, 'the settings file') } : {}),
      });
      if (opts.wait === false) return printAccepted(ctx.io, accepted, ctx.options.json);
      if (!ctx.options.json) io.stderr.write(`import ${accepted.id} accepted (${basename(zip)})\n`);
      const job = await followJob(ctx, accepted.id);
      printJob(io, job, ctx.options.json);
      io.exitCode = exitCodeOf(job.state);
    });

  program
    .command('status')
    .description('one load, plan or job, or the newest loads, plans and jobs')
    .argument('[id]', 'load, plan or job id')
    .option('--limit <n>', 'how many to list', positiveInt, 20)
    .action(async (id: string | undefined, opts: { limit: number }) => {
      const ctx = context();
      if (!id) return printList(io, await ctx.client.listJobs({ pageSize: opts.limit }), ctx.options.json);
      // One id space seen from outside: a load, else a plan (an app without plans: route not available), else a job.
      const notFound = (error: unknown) => error instanceof ApiError && error.status === 404;
      try {
        return printLoad(io, await ctx.client.getLoad(id), ctx.options.json);
      } catch (error) {
        if (!notFound(error) || (error as ApiError).routeNotAvailable) throw error;
      }
      try {
        return printPlan(io, await ctx.client.getPlan(id), ctx.options.json);
      } catch (error) {
        if (!notFound(error)) throw error;
      }
      printJob(io, await ctx.client.getImport(id), ctx.options.json);
    });

  program
    .command('rows')
    .description("a load's failed rows (row, column, value, reason), or its failed-rows file with --out")
    .argument('<id>', 'load id')
    .option('--out <file>', 'save the failed-rows file (input format plus the error column)')
    .option('--page-size <n>', 'rows per request', positiveInt, 500)
    .action(async (id: string, opts: { out?: string; pageSize: number }) => {
      const ctx = context();
      if (opts.out) return saveFailedRows(ctx, id, opts.out);
      await printFailedRows(ctx, id, opts.pageSize);
    });

  program
    .command('retry')
    .description("load a load's failed rows again (or a corrected failed-rows file), then follow it")
    .argument('<id>', 'load id')
    .option('--file <fixed.csv>', 'the corrected failed-rows file to load instead')
    .option('--no-wait', 'print the id and return without following the load')
    .action(async (id: string, opts: { file?: string; wait: boolean }) => {
      const ctx = context();
      const corrected = opts.file
        ? {
            body: await fileBlob(opts.file, 'the corrected file'),
            contentType: contentTypeForFile(opts.file) ?? 'application/octet-stream',
          }
        : undefined;
      const accepted = await ctx.client.retryLoad(id, corrected);
      if (!opts.wait) return printAccepted(ctx.io, accepted, ctx.options.json);
      if (!ctx.options.json) io.stderr.write(`retry ${accepted.id} of load ${id} accepted\n`);
      await followLoadToEnd(ctx, accepted.id);
    });

  return program;
}

async function followLoadToEnd(ctx: CliContext, id: string): Promise<void> {
  const view = await followLoad(ctx, id);
  printLoad(ctx.io, view, ctx.options.json);
  ctx.io.exitCode = exitCodeOf(view.status);
}

function printAccepted(io: Io, accepted: { id: string; statusUrl: string }, json?: boolean): void {
  io.stdout.write(json ? `${JSON.stringify(accepted)}\n` : `${accepted.id}\n`);
}
