import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDdf, MAX_DDF_BYTES } from './ddf.js';
import { ModelError, isLwm2mError } from './errors.js';
import type { ObjectDefinition } from './model.js';
import type { MutableObjectRegistry } from './registry.js';

/**
 * Reads one DDF XML file and adds its objects to `registry`. Returns what was added.
 * Every failure (missing file, oversize, malformed definition) is a {@link ModelError} naming the file;
 * on failure nothing is added.
 */
export async function loadObjectsFromFile(
  registry: MutableObjectRegistry,
  path: string,
): Promise<ObjectDefinition[]> {
  const definitions = await readDdfFile(path);
  for (const definition of definitions) registry.add(definition);
  return definitions;
}

/**
 * Reads every `*.xml` file directly inside `dir` (not recursively, in name order) and adds their objects
 * to `registry`. All files are read before anything is added, so one bad file leaves the registry as it
 * was; the error names every file that failed.
 */
export async function loadObjectsFromDirectory(
  registry: MutableObjectRegistry,
  dir: string,
): Promise<ObjectDefinition[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (cause) {
    throw new ModelError(`${dir}: cannot read directory: ${(cause as Error).message}`, { cause });
  }
  const files = entries
    .filter((e) => e.isFile() && e.name.toLowerCase().endsWith('.xml'))
    .map((e) => e.name)
    .sort();

  const loaded: ObjectDefinition[] = [];
  const failures: ModelError[] = [];
  for (const name of files) {
    try {
      loaded.push(...(await readDdfFile(join(dir, name))));
    } catch (error) {
      failures.push(error as ModelError);
    }
  }
  if (failures.length === 1) throw failures[0]!;
  if (failures.length > 1) {
    throw new ModelError(
      `${failures.length} object definition files failed:\n${failures.map((f) => f.message).join('\n')}`,
      {
        cause: failures,
      },
    );
  }
  for (const definition of loaded) registry.add(definition);
  return loaded;
}

async function readDdfFile(path: string): Promise<ObjectDefinition[]> {
  try {
    // Check the size before reading so a huge file is never pulled into memory.
    const info = await stat(path);
    if (!info.isFile()) throw new ModelError('not a file');
    if (info.size > MAX_DDF_BYTES) throw new ModelError(`larger than ${MAX_DDF_BYTES} bytes`);
    return parseDdf(await readFile(path, 'utf8'));
  } catch (cause) {
    const reason = isLwm2mError(cause) ? cause.message : `cannot read file: ${(cause as Error).message}`;
    throw new ModelError(`${path}: ${reason}`, { cause });
  }
}
