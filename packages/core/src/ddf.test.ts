import { parseDdf, MAX_DDF_BYTES } from './ddf.js';
import { Lwm2mError, ModelError, isLwm2mError } from './errors.js';

/** Wraps items in a complete DDF object, so each case shows only what it is about. */
function ddf(items: string, head = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<LWM2M xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <Object ObjectType="MODefinition">
    <Name>Widget</Name>
    <ObjectID>32769</ObjectID>
    ${head}
    <MultipleInstances>Multiple</MultipleInstances>
    <Mandatory>Optional</Mandatory>
    <Resources>${items}</Resources>
  </Object>
</LWM2M>`;
}

function item(
  id: string,
  parts: { name?: string; ops?: string; multi?: string; type?: string } = {},
): string {
  const { name = 'Value', ops = 'R', multi = 'Single', type = 'Integer' } = parts;
  return `<Item ID="${id}"><Name>${name}</Name><Operations>${ops}</Operations><MultipleInstances>${multi}</MultipleInstances><Mandatory>Optional</Mandatory><Type>${type}</Type></Item>`;
}

function modelErrorOf(fn: () => unknown): ModelError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ModelError);
    expect(isLwm2mError(error)).toBe(true);
    expect((error as ModelError).code).toBe('ERR_MODEL');
    return error as ModelError;
  }
  throw new Error('expected a ModelError');
}

describe('parseDdf', () => {
  it('reads an OMA-style definition with every field', () => {
    const [definition, ...rest] = parseDdf(
      ddf(
        `<Item ID="0">
          <Name>Level</Name>
          <Operations>RW</Operations>
          <MultipleInstances>Single</MultipleInstances>
          <Mandatory>Mandatory</Mandatory>
          <Type>Unsigned Integer</Type>
          <RangeEnumeration>0..100</RangeEnumeration>
          <Units>%</Units>
          <Description><![CDATA[How full it is <percent>.]]></Description>
        </Item>
        <Item ID="1"><Name>Go</Name><Operations>E</Operations><MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory><Type></Type><RangeEnumeration></RangeEnumeration><Units></Units><Description></Description></Item>`,
        `<Description1>A test object &amp; more.</Description1>
         <ObjectURN>urn:oma:lwm2m:x:32769:1.2</ObjectURN>
         <LWM2MVersion>1.1</LWM2MVersion>
         <ObjectVersion>1.2</ObjectVersion>`,
      ),
    );
    expect(rest).toEqual([]);
    expect(definition).toMatchObject({
      id: 32769,
      name: 'Widget',
      description: 'A test object & more.',
      urn: 'urn:oma:lwm2m:x:32769:1.2',
      lwm2mVersion: '1.1',
      version: '1.2',
      multiple: true,
      mandatory: false,
    });
    expect(definition!.resources.get(0)).toEqual({
      id: 0,
      name: 'Level',
      operations: 'RW',
      multiple: false,
      mandatory: true,
      type: 'unsigned',
      rangeEnumeration: '0..100',
      units: '%',
      description: 'How full it is <percent>.',
    });
    // Empty optional elements leave no keys behind (exactOptionalPropertyTypes).
    expect(definition!.resources.get(1)).toEqual({
      id: 1,
      name: 'Go',
      operations: 'E',
      multiple: false,
      mandatory: false,
      type: 'none',
    });
  });

  it.each([
    ['String', 'string'],
    ['Integer', 'integer'],
    ['Unsigned Integer', 'unsigned'],
    ['Float', 'float'],
    ['Boolean', 'boolean'],
    ['Opaque', 'opaque'],
    ['Time', 'time'],
    ['Objlnk', 'objlnk'],
    ['Corelnk', 'corelnk'],
    ['OBJLNK', 'objlnk'],
    ['unsigned   integer', 'unsigned'],
  ])('maps <Type>%s</Type> to %s', (ddfType, type) => {
    const [definition] = parseDdf(ddf(item('5', { type: ddfType })));
    expect(definition!.resources.get(5)!.type).toBe(type);
  });

  it.each([
    ['R', 'R'],
    ['W', 'W'],
    ['RW', 'RW'],
    ['E', 'E'],
    ['', ''],
    [' rw ', 'RW'],
  ])('maps <Operations>%j</Operations> to %j', (ops, operations) => {
    const [definition] = parseDdf(ddf(item('5', { ops, type: ops.trim() === 'E' ? '' : 'String' })));
    expect(definition!.resources.get(5)!.operations).toBe(operations);
  });

  it('defaults the versions to 1.0 when a 1.0-schema file omits them', () => {
    const [definition] = parseDdf(ddf(item('0')));
    expect(definition!.version).toBe('1.0');
    expect(definition!.lwm2mVersion).toBe('1.0');
    expect(definition).not.toHaveProperty('urn');
    expect(definition).not.toHaveProperty('description');
  });

  it('keeps versions as written (1.10 is not 1.1)', () => {
    const [definition] = parseDdf(ddf(item('0'), '<ObjectVersion>1.10</ObjectVersion>'));
    expect(definition!.version).toBe('1.10');
  });

  it('reads a vendor file with odd whitespace, case, a BOM, comments and no <LWM2M> root', () => {
    const vendor = `\uFEFF<?xml version="1.0"?>
<!-- exported by a vendor tool -->
<object>
  <name>
     Vendor Meter
  </name>
  <objectid> 26241 </objectid>
  <Lwm2mVersion>1.1</Lwm2mVersion>
  <MultipleInstances>multiple</MultipleInstances>
  <Mandatory>OPTIONAL</Mandatory>
  <Resources>
    <item id=" 7 ">
      <name>Reading</name>
      <operations> r </operations>
      <multipleinstances> MULTIPLE </multipleinstances>
      <type> float </type>
      <units>kWh</units>
    </item>
    <Item ID="8"><Name>Reset</Name><Operations>E</Operations><MultipleInstances>Single</MultipleInstances><Mandatory>mandatory</Mandatory></Item>
  </Resources>
  <Description2>Second description is ignored.</Description2>
</object>`;
    const [definition] = parseDdf(vendor);
    expect(definition).toMatchObject({
      id: 26241,
      name: 'Vendor Meter',
      lwm2mVersion: '1.1',
      multiple: true,
      mandatory: false,
    });
    expect(definition!.resources.get(7)).toEqual({
      id: 7,
      name: 'Reading',
      operations: 'R',
      multiple: true,
      mandatory: false,
      type: 'float',
      units: 'kWh',
    });
    expect(definition!.resources.get(8)).toMatchObject({ operations: 'E', type: 'none', mandatory: true });
  });

  it('reads several objects from one document and an object without resources', () => {
    const xml = `<LWM2M>
      <Object><Name>A</Name><ObjectID>10</ObjectID><MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory><Resources/></Object>
      <Object><Name>B</Name><ObjectID>11</ObjectID><MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory><Resources>${item('0')}</Resources></Object>
    </LWM2M>`;
    const definitions = parseDdf(xml);
    expect(definitions.map((d) => [d.id, d.name, d.resources.size])).toEqual([
      [10, 'A', 0],
      [11, 'B', 1],
    ]);
  });

  it.each<[string, string, RegExp]>([
    ['empty input', '', /not well-formed|no <LWM2M>/],
    ['plain text', 'this is not xml', /not well-formed|no <LWM2M>/],
    ['JSON', '{"ObjectID": 3}', /not well-formed|no <LWM2M>/],
    ['an unclosed element', '<LWM2M><Object><Name>X</Name>', /not well-formed/],
    ['mismatched tags', '<LWM2M><Object></LWM2M></Object>', /not well-formed/],
    ['no object', '<LWM2M></LWM2M>', /no <LWM2M><Object>/],
    ['a DOCTYPE', '<!DOCTYPE LWM2M [<!ENTITY x "boom">]><LWM2M>&x;</LWM2M>', /DOCTYPE/],
    [
      'a missing ObjectID',
      ddf(item('0')).replace('<ObjectID>32769</ObjectID>', ''),
      /object \? \(Widget\): missing <ObjectID>/,
    ],
    [
      'a non-numeric ObjectID',
      ddf(item('0')).replace('32769', '3a'),
      /object 3a \(Widget\): <ObjectID> is not an id/,
    ],
    ['a negative ObjectID', ddf(item('0')).replace('32769', '-1'), /<ObjectID> is not an id/],
    ['ObjectID 65535', ddf(item('0')).replace('32769', '65535'), /out of range/],
    [
      'a missing object name',
      ddf(item('0')).replace('<Name>Widget</Name>', ''),
      /object 32769: missing <Name>/,
    ],
    [
      'a bad object multiplicity',
      ddf(item('0')).replace('<MultipleInstances>Multiple', '<MultipleInstances>Many'),
      /object 32769 \(Widget\): <MultipleInstances> must be Single or Multiple, not 'Many'/,
    ],
    [
      'a missing object multiplicity',
      ddf(item('0')).replace('<MultipleInstances>Multiple</MultipleInstances>', ''),
      /object 32769 \(Widget\): missing <MultipleInstances>/,
    ],
    [
      'a bad Mandatory',
      ddf(item('0')).replace('<Mandatory>Optional</Mandatory>\n', '<Mandatory>Sometimes</Mandatory>\n'),
      /<Mandatory> must be Mandatory or Optional/,
    ],
    [
      'a bad object version',
      ddf(item('0'), '<ObjectVersion>v1</ObjectVersion>'),
      /<ObjectVersion> is not a version: 'v1'/,
    ],
    [
      'an unknown type',
      ddf(item('4', { name: 'Temp', type: 'Intger' })),
      /object 32769 \(Widget\): resource 4 \(Temp\): unknown <Type> 'Intger'/,
    ],
    [
      'a duplicate resource id',
      ddf(item('4') + item('4')),
      /object 32769 \(Widget\): resource 4 is defined twice/,
    ],
    [
      'an Item without ID',
      ddf(item('0').replace(' ID="0"', '')),
      /resource \? \(Value\): missing ID attribute/,
    ],
    ['a non-numeric resource ID', ddf(item('x1')), /resource x1 \(Value\): ID is not an id/],
    ['a resource ID above 65534', ddf(item('70000')), /resource 70000 \(Value\): ID is out of range/],
    ['a resource without name', ddf(item('2', { name: '' })), /resource 2: missing <Name>/],
    ['unknown operations', ddf(item('2', { ops: 'RX' })), /resource 2 \(Value\): unknown <Operations> 'RX'/],
    [
      'a bad resource multiplicity',
      ddf(item('2', { multi: 'Several' })),
      /resource 2 \(Value\): <MultipleInstances> must be/,
    ],
    [
      'a readable resource without type',
      ddf(item('2', { type: '' })),
      /resource 2 \(Value\): missing <Type> on a non-executable/,
    ],
    [
      'the same object and version twice',
      `<LWM2M>${[1, 2].map(() => `<Object><Name>A</Name><ObjectID>10</ObjectID><MultipleInstances>Single</MultipleInstances></Object>`).join('')}</LWM2M>`,
      /object 10 version 1.0 is defined twice/,
    ],
  ])('rejects %s with a ModelError', (_case, xml, message) => {
    expect(modelErrorOf(() => parseDdf(xml)).message).toMatch(message);
  });

  it('rejects input over the size cap before parsing it', () => {
    const padding = ' '.repeat(MAX_DDF_BYTES);
    expect(modelErrorOf(() => parseDdf(ddf(item('0')) + padding)).message).toMatch(/larger than/);
    // Multi-byte text counts in bytes, not characters.
    const wide = ddf(item('0'), `<Description1>${'é'.repeat(MAX_DDF_BYTES / 2)}</Description1>`);
    expect(wide.length).toBeLessThan(MAX_DDF_BYTES);
    expect(modelErrorOf(() => parseDdf(wide)).message).toMatch(/larger than/);
  });

  it('keeps error messages short when a field holds junk', () => {
    const message = modelErrorOf(() => parseDdf(ddf(item('1', { type: 'x'.repeat(10000) })))).message;
    expect(message).toMatch(/unknown <Type> 'x+\.\.\.'/);
    expect(message.length).toBeLessThan(200);
  });

  it('rejects a value that is not a string', () => {
    expect(modelErrorOf(() => parseDdf(42 as unknown as string)).message).toMatch(/string/);
  });

  it('does not expand undeclared entities into anything surprising', () => {
    const [definition] = parseDdf(ddf(item('0', { name: 'A &lt;b&gt; &#65; &amp;amp;' })));
    expect(definition!.resources.get(0)!.name).toBe('A <b> A &amp;');
  });
});

describe('isLwm2mError', () => {
  it('recognises errors through the Symbol.for brand, not instanceof', () => {
    // What a second copy of @lwm2m/core would throw: same registered symbol, different class.
    const foreign = Object.assign(new Error('from another copy'), {
      code: 'ERR_MODEL',
      [Symbol.for('@lwm2m/error')]: true,
    });
    expect(foreign).not.toBeInstanceOf(Lwm2mError);
    expect(isLwm2mError(foreign)).toBe(true);
    expect(isLwm2mError(new ModelError('x'))).toBe(true);
  });

  it.each([
    ['a plain Error', new Error('x')],
    ['an unregistered symbol of the same name', { [Symbol('@lwm2m/error')]: true }],
    ['a brand that is not true', { [Symbol.for('@lwm2m/error')]: 'yes' }],
    ['null', null],
    ['a string', 'ERR_MODEL'],
  ])('rejects %s', (_case, value) => {
    expect(isLwm2mError(value)).toBe(false);
  });

  it('gives each subclass its own name and keeps the cause', () => {
    const cause = new Error('root');
    const error = new ModelError('bad', { cause });
    expect(error.name).toBe('ModelError');
    expect(error.cause).toBe(cause);
  });
});
