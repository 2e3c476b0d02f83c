import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ModelError } from './errors.js';
import type { ObjectDefinition, ResourceDefinition, ResourceOperations, ResourceType } from './model.js';

/** Real DDFs are a few kB to a few hundred kB; anything far beyond that is not an object definition. */
export const MAX_DDF_BYTES = 4 * 1024 * 1024;
/** Resource ids are 16-bit, so no document can define more resources per object than this. */
export const MAX_DDF_RESOURCES = 65535;

const MAX_ID = 65534;

/** DDF `<Type>` text (lower-cased, spaces collapsed) → our type. */
const TYPES: ReadonlyMap<string, ResourceType> = new Map<string, ResourceType>([
  ['string', 'string'],
  ['integer', 'integer'],
  ['unsigned integer', 'unsigned'],
  ['unsignedinteger', 'unsigned'],
  ['unsigned', 'unsigned'],
  ['float', 'float'],
  ['boolean', 'boolean'],
  ['opaque', 'opaque'],
  ['time', 'time'],
  ['objlnk', 'objlnk'],
  ['corelnk', 'corelnk'],
  ['none', 'none'],
]);

const OPERATIONS: ReadonlyMap<string, ResourceOperations> = new Map<string, ResourceOperations>([
  ['', ''],
  ['NONE', ''],
  ['R', 'R'],
  ['W', 'W'],
  ['RW', 'RW'],
  ['WR', 'RW'],
  ['E', 'E'],
]);

/**
 * Element and attribute names are lower-cased so vendor files that write `<Multipleinstances>` or
 * `id="…"` read the same; every element becomes an array so a lone `<Object>` or `<Item>` needs no
 * special case; values stay strings (no number guessing: `1.10` must not become `1.1`).
 */
const PARSER_OPTIONS = {
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  // XML's predefined entities and character references (`&#233;`), which the parser only decodes in
  // its HTML mode; DTD-declared entities cannot occur, a DOCTYPE is rejected before parsing.
  processEntities: true,
  htmlEntities: true,
  transformTagName: (name: string) => name.toLowerCase(),
  transformAttributeName: (name: string) => name.toLowerCase(),
  isArray: (_name: string, _path: unknown, _leaf: boolean, isAttribute: boolean) => !isAttribute,
} as const;

type XmlNode = { readonly [key: string]: unknown };

/**
 * Reads an OMA DDF XML document (an `<LWM2M>` root holding one or more `<Object>`) into object
 * definitions. Accepts the 1.0 and 1.1 schemas and the usual vendor deviations (whitespace, case of
 * names and values, missing optional elements); anything that cannot be read as a definition throws
 * a {@link ModelError} naming the object and resource.
 */
export function parseDdf(xml: string): ObjectDefinition[] {
  if (typeof xml !== 'string') throw new ModelError('DDF input must be a string');
  // UTF-8 never needs fewer bytes than UTF-16 code units, so the cheap length test rejects most oversize input.
  if (xml.length > MAX_DDF_BYTES || Buffer.byteLength(xml, 'utf8') > MAX_DDF_BYTES) {
    throw new ModelError(`DDF document larger than ${MAX_DDF_BYTES} bytes`);
  }
  // Files saved by Windows editors often start with a byte-order mark, which is not XML.
  if (xml.charCodeAt(0) === 0xfeff) xml = xml.slice(1);
  // DDFs never carry a DTD; refusing it rules out entity-expansion tricks whatever the parser does.
  if (/<!DOCTYPE/i.test(xml)) throw new ModelError('DDF document must not contain a DOCTYPE');

  const validation = XMLValidator.validate(xml);
  if (validation !== true) {
    const { msg, line, col } = validation.err;
    throw new ModelError(`DDF is not well-formed XML: ${msg} (line ${line}, column ${col})`);
  }

  let document: XmlNode;
  try {
    document = new XMLParser(PARSER_OPTIONS).parse(xml) as XmlNode;
  } catch (cause) {
    throw new ModelError(`DDF is not well-formed XML: ${(cause as Error).message}`, { cause });
  }

  const root = children(document, 'lwm2m')[0];
  // Some vendor files drop the <LWM2M> wrapper and start at <Object>.
  const objectNodes = root === undefined ? children(document, 'object') : children(root, 'object');
  if (objectNodes.length === 0) throw new ModelError('DDF has no <LWM2M><Object> element');

  const definitions: ObjectDefinition[] = [];
  const seen = new Set<string>();
  let resourceCount = 0;
  for (const node of objectNodes) {
    const definition = readObject(node);
    const key = `${definition.id}@${definition.version}`;
    if (seen.has(key)) {
      throw new ModelError(`object ${definition.id} version ${definition.version} is defined twice`);
    }
    seen.add(key);
    resourceCount += definition.resources.size;
    if (resourceCount > MAX_DDF_RESOURCES)
      throw new ModelError(`DDF defines more than ${MAX_DDF_RESOURCES} resources`);
    definitions.push(definition);
  }
  return definitions;
}

function readObject(node: XmlNode): ObjectDefinition {
  const idText = text(node, 'objectid');
  const name = text(node, 'name');
  const label = `object ${idText === '' ? '?' : clip(idText)}${name === '' ? '' : ` (${clip(name)})`}`;
  if (idText === '') throw new ModelError(`${label}: missing <ObjectID>`);
  const id = parseId(idText, `${label}: <ObjectID>`);
  if (name === '') throw new ModelError(`${label}: missing <Name>`);

  const version = readVersion(text(node, 'objectversion'), `${label}: <ObjectVersion>`);
  const lwm2mVersion = readVersion(text(node, 'lwm2mversion'), `${label}: <LWM2MVersion>`);
  const multiple = readMultiplicity(text(node, 'multipleinstances'), label);
  const mandatory = readMandatory(text(node, 'mandatory'), label);

  const resources = new Map<number, ResourceDefinition>();
  const items = children(node, 'resources').flatMap((r) => children(r, 'item'));
  if (items.length > MAX_DDF_RESOURCES)
    throw new ModelError(`${label}: more than ${MAX_DDF_RESOURCES} resources`);
  for (const item of items) {
    const resource = readResource(item, label);
    if (resources.has(resource.id))
      throw new ModelError(`${label}: resource ${resource.id} is defined twice`);
    resources.set(resource.id, resource);
  }

  const urn = text(node, 'objecturn');
  const description = text(node, 'description1');
  return {
    id,
    name,
    version,
    lwm2mVersion,
    ...(urn === '' ? {} : { urn }),
    multiple,
    mandatory,
    ...(description === '' ? {} : { description }),
    resources,
  };
}

function readResource(item: XmlNode, objectLabel: string): ResourceDefinition {
  const idAttribute = item['@id'];
  const idText = typeof idAttribute === 'string' ? idAttribute.trim() : '';
  const name = text(item, 'name');
  const label = `${objectLabel}: resource ${idText === '' ? '?' : clip(idText)}${name === '' ? '' : ` (${clip(name)})`}`;
  if (idText === '') throw new ModelError(`${label}: missing ID attribute on <Item>`);
  const id = parseId(idText, `${label}: ID`);
  if (name === '') throw new ModelError(`${label}: missing <Name>`);

  const operationsText = text(item, 'operations').toUpperCase();
  const operations = OPERATIONS.get(operationsText);
  if (operations === undefined)
    throw new ModelError(`${label}: unknown <Operations> '${clip(operationsText)}'`);

  const typeText = text(item, 'type').toLowerCase().replace(/\s+/g, ' ');
  let type: ResourceType | undefined;
  if (typeText === '') {
    // Executables have no type; a readable or writable value without one cannot be encoded.
    if (operations !== 'E') throw new ModelError(`${label}: missing <Type> on a non-executable resource`);
    type = 'none';
  } else {
    type = TYPES.get(typeText);
    if (type === undefined) throw new ModelError(`${label}: unknown <Type> '${clip(text(item, 'type'))}'`);
  }

  const rangeEnumeration = text(item, 'rangeenumeration');
  const units = text(item, 'units');
  const description = text(item, 'description');
  return {
    id,
    name,
    operations,
    multiple: readMultiplicity(text(item, 'multipleinstances'), label),
    mandatory: readMandatory(text(item, 'mandatory'), label),
    type,
    ...(rangeEnumeration === '' ? {} : { rangeEnumeration }),
    ...(units === '' ? {} : { units }),
    ...(description === '' ? {} : { description }),
  };
}

function children(node: XmlNode, name: string): XmlNode[] {
  const value = node[name];
  if (!Array.isArray(value)) return [];
  // An empty element (`<Resources/>`) parses as '' — it has no children.
  return value.filter((v): v is XmlNode => typeof v === 'object' && v !== null);
}

/** The trimmed text of the first `name` child, '' when absent or empty. */
function text(node: XmlNode, name: string): string {
  const value = node[name];
  const first: unknown = Array.isArray(value) ? value[0] : value;
  if (typeof first === 'string') return first.trim();
  if (typeof first === 'object' && first !== null) {
    const inner = (first as XmlNode)['#text'];
    if (typeof inner === 'string') return inner.trim();
  }
  return '';
}

/** Keeps error messages readable when a field holds a whole paragraph of junk. */
function clip(value: string): string {
  return value.length > 60 ? `${value.slice(0, 57)}...` : value;
}

function parseId(textValue: string, what: string): number {
  if (!/^[0-9]{1,5}$/.test(textValue)) throw new ModelError(`${what} is not an id: '${clip(textValue)}'`);
  const id = Number(textValue);
  if (id > MAX_ID) throw new ModelError(`${what} is out of range (0..${MAX_ID}): ${id}`);
  return id;
}

function readVersion(textValue: string, what: string): string {
  if (textValue === '') return '1.0';
  if (!/^[0-9]{1,4}(\.[0-9]{1,4}){1,2}$/.test(textValue))
    throw new ModelError(`${what} is not a version: '${clip(textValue)}'`);
  return textValue;
}

function readMultiplicity(textValue: string, label: string): boolean {
  const v = textValue.toLowerCase();
  if (v === 'multiple') return true;
  if (v === 'single') return false;
  if (v === '') throw new ModelError(`${label}: missing <MultipleInstances>`);
  throw new ModelError(`${label}: <MultipleInstances> must be Single or Multiple, not '${clip(textValue)}'`);
}

function readMandatory(textValue: string, label: string): boolean {
  const v = textValue.toLowerCase();
  if (v === 'mandatory') return true;
  // A missing <Mandatory> only loses documentation, never the ability to encode; treat it as Optional.
  if (v === 'optional' || v === '') return false;
  throw new ModelError(`${label}: <Mandatory> must be Mandatory or Optional, not '${clip(textValue)}'`);
}
