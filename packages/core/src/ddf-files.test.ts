import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadObjectsFromDirectory, loadObjectsFromFile } from './ddf-files.js';
import { ModelError, isLwm2mError } from './errors.js';
import { createObjectRegistry } from './registry.js';

function objectXml(id: number, name: string, version = '1.0'): string {
  return `<LWM2M><Object><Name>${name}</Name><ObjectID>${id}</ObjectID><ObjectVersion>${version}</ObjectVersion>
    <MultipleInstances>Multiple</MultipleInstances><Mandatory>Optional</Mandatory>
    <Resources><Item ID="1"><Name>Value</Name><Operations>R</Operations><MultipleInstances>Single</MultipleInstances><Type>Float</Type></Item></Resources>
  </Object></LWM2M>`;
}

async function rejection(promise: Promise<unknown>): Promise<ModelError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ModelError);
  expect(isLwm2mError(error)).toBe(true);
  return error as ModelError;
}

describe('loading DDF files', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lwm2m-ddf-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads one file into the registry and returns what it added', async () => {
    const path = join(dir, 'meter.xml');
    await writeFile(path, objectXml(26241, 'Meter'));
    const registry = createObjectRegistry();
    const added = await loadObjectsFromFile(registry, path);
    expect(added.map((d) => d.id)).toEqual([26241]);
    expect(registry.getResource(26241, 1)?.type).toBe('float');
  });

  it('names the file when it is missing', async () => {
    const path = join(dir, 'nope.xml');
    const error = await rejection(loadObjectsFromFile(createObjectRegistry(), path));
    expect(error.message).toContain(path);
    expect(error.message).toMatch(/cannot read file/);
  });

  it('names the file when its definition is bad, and adds nothing', async () => {
    const path = join(dir, 'bad.xml');
    await writeFile(path, objectXml(26241, 'Meter').replace('Float', 'Real'));
    const registry = createObjectRegistry();
    const error = await rejection(loadObjectsFromFile(registry, path));
    expect(error.message).toContain(path);
    expect(error.message).toMatch(/unknown <Type> 'Real'/);
    expect(registry.objects()).toEqual([]);
  });

  it('loads every *.xml of a directory, skipping other files and subdirectories', async () => {
    await writeFile(join(dir, 'a.xml'), objectXml(30000, 'A'));
    await writeFile(join(dir, 'B.XML'), objectXml(30001, 'B'));
    await writeFile(join(dir, 'notes.txt'), 'not a definition');
    await mkdir(join(dir, 'nested.xml'));
    await writeFile(join(dir, 'nested.xml', 'c.xml'), objectXml(30002, 'C'));
    const registry = createObjectRegistry();
    const added = await loadObjectsFromDirectory(registry, dir);
    expect(added.map((d) => d.id).sort()).toEqual([30000, 30001]);
    expect(registry.objects().map((d) => d.name)).toEqual(['A', 'B']);
  });

  it('with one bad file among good ones, names it and leaves the registry untouched', async () => {
    await writeFile(join(dir, 'a.xml'), objectXml(30000, 'A'));
    await writeFile(join(dir, 'b.xml'), objectXml(30001, 'B'));
    await writeFile(join(dir, 'broken.xml'), '<LWM2M><Object><Name>oops</Name>');
    const registry = createObjectRegistry();
    const error = await rejection(loadObjectsFromDirectory(registry, dir));
    expect(error.message).toContain(join(dir, 'broken.xml'));
    expect(error.message).not.toContain('a.xml');
    expect(registry.objects()).toEqual([]);

    await rm(join(dir, 'broken.xml'));
    await loadObjectsFromDirectory(registry, dir);
    expect(registry.objects().map((d) => d.id)).toEqual([30000, 30001]);
  });

  it('lists every bad file when several fail', async () => {
    await writeFile(join(dir, 'x.xml'), 'nonsense');
    await writeFile(join(dir, 'y.xml'), objectXml(70000, 'Y'));
    const error = await rejection(loadObjectsFromDirectory(createObjectRegistry(), dir));
    expect(error.message).toMatch(/^2 object definition files failed/);
    expect(error.message).toContain(join(dir, 'x.xml'));
    expect(error.message).toContain(join(dir, 'y.xml'));
  });

  it('adds several versions of one object side by side', async () => {
    await writeFile(join(dir, '30000-1_0.xml'), objectXml(30000, 'Old', '1.0'));
    await writeFile(join(dir, '30000-1_1.xml'), objectXml(30000, 'New', '1.1'));
    const registry = createObjectRegistry();
    await loadObjectsFromDirectory(registry, dir);
    expect(registry.getObject(30000)?.name).toBe('New');
    expect(registry.getObject(30000, '1.0')?.name).toBe('Old');
  });

  it('names the directory when it cannot be read', async () => {
    const missing = join(dir, 'missing');
    const error = await rejection(loadObjectsFromDirectory(createObjectRegistry(), missing));
    expect(error.message).toContain(missing);
  });
});
